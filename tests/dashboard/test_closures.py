"""停业申请 end to end in Chromium: station staff ask on a phone, the town approves with its reason, the staff see
the decision, and the bureau downloads the excused days as the CSV `cloud derive --exceptions` reads."""

from datetime import date

from playwright.sync_api import Browser, expect

from cloud.derive.offline import read_exceptions
from tests.dashboard.conftest import login, shot


def test_staff_ask_the_town_approves_the_bureau_exports(browser: Browser, base_url: str) -> None:
    staff = login(browser, base_url, "staff-hl1", width=390, height=844)
    staff.click("#nav a[data-page=closures]")
    form = staff.get_by_test_id("closure-form")
    form.locator("input[name=first_day]").fill("2026-10-20")
    form.locator("input[name=last_day]").fill("2026-10-21")
    form.locator("input[name=reason]").fill("台风红色预警，停业两天")
    form.locator("button").click()
    row = staff.get_by_test_id("closures").locator("tbody tr").first
    expect(row).to_have_attribute("data-status", "requested")
    expect(row).to_contain_text("2026-10-20 至 2026-10-21")
    expect(row).to_contain_text("待审批")
    assert staff.evaluate("document.documentElement.scrollWidth") <= 390
    shot(staff, "closures-station-phone")

    town = login(browser, base_url, "town-hl")
    town.click("#nav a[data-page=closures]")
    pending = town.get_by_test_id("closures").locator("tbody tr[data-status=requested]")
    expect(pending).to_have_count(1)
    pending.locator("button[data-action=批准]").click()  # without a reason: refused by the page
    expect(town.locator("#toast")).to_contain_text("请填写审批意见")
    pending.locator("input[name=reason]").fill("已核实气象预警")
    pending.locator("button[data-action=批准]").click()
    approved = town.get_by_test_id("closures").locator("tbody tr[data-status=approved]")
    expect(approved).to_contain_text("town-hl")
    expect(approved).to_contain_text("已核实气象预警")
    expect(approved).to_contain_text("2026/10/12 10:00:00")  # decided at the server's (injected) time, China time
    shot(town, "closures-town")

    staff.reload()
    expect(staff.get_by_test_id("closures").locator("tbody tr").first).to_have_attribute("data-status", "approved")
    expect(staff.locator("[data-export=exceptions-csv]")).to_have_count(0)

    bureau = login(browser, base_url, "admin")
    bureau.click("#nav a[data-page=closures]")
    expect(bureau.get_by_test_id("closures").locator("tbody tr")).to_have_count(1)
    with bureau.expect_download() as info:
        bureau.locator("[data-export=exceptions-csv]").click()
    text = info.value.path().read_text(encoding="utf-8")
    assert read_exceptions(text) == {"hl-01": {date(2026, 10, 20): "台风红色预警，停业两天",
                                               date(2026, 10, 21): "台风红色预警，停业两天"}}
    shot(bureau, "closures-bureau")
    for page in (staff, town, bureau):
        page.context.close()
