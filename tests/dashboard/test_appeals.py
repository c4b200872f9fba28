"""抽查申诉 in Chromium: hl-02's staff, on a phone, contest the failed check of 2026-10-09 with their reason; a second
appeal of it is not offered; the town officer upholds it with theirs; the staff see the decision, and the bureau's
veto figures count the check no more, and its CSV export is what the audit recompute reads."""

from datetime import date

from playwright.sync_api import Browser, expect
from sqlalchemy import Engine

from cloud.api.security import hash_password
from cloud.derive.offline import read_upheld_appeals
from cloud.store.db import make_session_factory
from cloud.store.users import User
from tests.api.conftest import PASSWORD
from tests.dashboard.conftest import login, shot


def test_a_station_appeals_and_the_town_decides(browser: Browser, base_url: str, fleet_db: Engine) -> None:
    with make_session_factory(fleet_db)() as session:
        session.add(User(name="staff-hl2", role="station", password_hash=hash_password(PASSWORD), station_id="hl-02"))
        session.commit()
    staff = login(browser, base_url, "staff-hl2", width=390, height=844)
    staff.click("#nav a[data-page=appeals]")
    check = staff.get_by_test_id("failed-checks").locator("tbody tr")
    expect(check).to_have_count(1)
    expect(check).to_contain_text("2026-10-09 09:00-10:00")
    expect(check).to_contain_text("工作时间内未开放")
    check.locator("button").click()  # no reason yet: refused by the page
    expect(staff.locator("#toast")).to_contain_text("请填写申诉理由")
    check.locator("textarea").fill("当天上午停电，已报供电所，附停电通知")
    check.locator("button").click()
    expect(check.get_by_test_id("appeal-form")).to_have_count(0)  # appealed once: no second form
    expect(check).to_contain_text("待决定")
    mine = staff.get_by_test_id("appeals").locator("tbody tr")
    expect(mine).to_have_attribute("data-status", "pending")
    assert staff.evaluate("document.documentElement.scrollWidth") <= 390
    shot(staff, "appeals-station-phone")

    town = login(browser, base_url, "town-hl")
    town.click("#nav a[data-page=appeals]")
    pending = town.get_by_test_id("appeals").locator("tbody tr[data-status=pending]")
    expect(pending).to_contain_text("当天上午停电")
    pending.locator("button[data-action=upheld]").click()
    expect(town.locator("#toast")).to_contain_text("请填写决定理由")
    pending.locator("input[name=reason]").fill("供电所证明属实")
    pending.locator("button[data-action=upheld]").click()
    upheld = town.get_by_test_id("appeals").locator("tbody tr[data-status=upheld]")
    expect(upheld).to_contain_text("town-hl · 2026/10/12 10:00:00")  # the server's (injected) time, China time
    expect(upheld).to_contain_text("该次抽查不计入一票否决")
    shot(town, "appeals-town")

    staff.reload()
    expect(staff.get_by_test_id("appeals").locator("tbody tr")).to_have_attribute("data-status", "upheld")
    expect(staff.get_by_test_id("appeals")).to_contain_text("供电所证明属实")
    expect(staff.get_by_test_id("appeals").locator("button")).to_have_count(0)

    expect(staff.locator("[data-export=appeals-csv]")).to_have_count(0)

    bureau = login(browser, base_url, "admin")
    vetoes = bureau.evaluate("Api.get('/spot-checks/vetoes?year=2026')")
    assert {v["station"]: v["failed"] for v in vetoes}["hl-02"] == 0
    bureau.click("#nav a[data-page=appeals]")
    with bureau.expect_download() as info:
        bureau.locator("[data-export=appeals-csv]").click()
    text = info.value.path().read_text(encoding="utf-8")
    assert read_upheld_appeals(text) == {("hl-02", date(2026, 10, 9), "09:00", "10:00")}
    for page in (staff, town, bureau):
        page.context.close()
