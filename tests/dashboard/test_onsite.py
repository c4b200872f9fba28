"""现场抽查 end to end in Chromium: a town plans a check of its stations for this morning, its inspector records on
a phone what was found at the door, the sensors judge the window when it ends and disagree, and the bureau decides
the disputed check with its reason: the decision is what the veto counts. Station staff never see any of it."""

from datetime import timedelta

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, select

from cloud.derive.recompute import recompute_station
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.models import Station
from cloud.store.onsite import SpotCheckVisit
from tests.api.conftest import PASSWORD
from tests.api.fleet import NOW, TODAY
from tests.dashboard.conftest import login, shot


def _phone_in_utc(browser: Browser, base_url: str, name: str) -> Page:
    """A phone whose clock is set to UTC: the inspector still types and reads China time."""
    page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", timezone_id="UTC").new_page()
    page.goto(base_url + "/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#nav a")
    return page


def _worker_judges_after_the_window(engine: Engine, station_id: str) -> None:
    """What the worker does once the window has ended: judge the station's day from its events."""
    with make_session_factory(engine)() as session:
        station = session.get(Station, station_id)
        assert station is not None
        recompute_station(session, station, [TODAY], TODAY, RulesConfig(), NOW + timedelta(hours=1))
        session.commit()


def test_inspector_records_on_a_phone_and_the_bureau_decides(browser: Browser, base_url: str,
                                                             fleet_db: Engine) -> None:
    town = login(browser, base_url, "town-hl")
    town.click("#nav a[data-page=spot-checks]")
    form = town.get_by_test_id("plan-form")
    form.locator("input[name=date]").fill(TODAY.isoformat())
    form.locator("input[name=start]").fill("09:30")
    form.locator("input[name=end]").fill("10:30")
    form.locator("input[name=town]").fill("汇龙镇")
    form.locator("button").click()
    expect(town.get_by_test_id("plans").locator("tbody tr")).to_have_count(2)

    inspector = _phone_in_utc(browser, base_url, "town-hl")
    inspector.click("#nav a[data-page=onsite]")
    todo = inspector.get_by_test_id("visits-todo").locator("li[data-review=pending]")
    expect(todo).to_have_count(2)
    expect(inspector.get_by_test_id("coverage-towns").locator("tr[data-town=汇龙镇]")).to_contain_text("2/2")
    inspector.locator("li[data-visit$='/hl-02'] a").click()
    record = inspector.get_by_test_id("record-form")
    record.locator("input[value=other]").check()
    record.locator("button[type=submit]").click()  # "other" without saying what: refused by the page
    expect(inspector.locator("#toast")).to_contain_text("请写明")
    record.locator("input[value=open]").check()
    record.locator("input[name=visited_at]").fill(f"{TODAY.isoformat()}T09:58")
    record.locator("textarea[name=notes]").fill("到站时门开着，两位老人在活动室")
    record.locator("button[type=submit]").click()
    expect(inspector.get_by_test_id("onsite-record")).to_contain_text("开放")
    expect(inspector.get_by_test_id("onsite-record")).to_contain_text("2026/10/12 09:58:00")  # China time
    expect(inspector.get_by_test_id("visit-review")).to_contain_text("待传感器判定")
    expect(inspector.get_by_test_id("decision-form")).to_have_count(0)
    assert inspector.evaluate("document.documentElement.scrollWidth") <= 390
    shot(inspector, "onsite-record-phone")
    with make_session_factory(fleet_db)() as session:  # typed in China time on a UTC phone, kept as the instant
        visit = session.scalars(select(SpotCheckVisit).where(SpotCheckVisit.station_id == "hl-02")).one()
        assert visit.visited_at == NOW - timedelta(minutes=2)

    # The window ends; the sensors saw the door shut all morning: the record disputes them.
    _worker_judges_after_the_window(fleet_db, "hl-02")
    inspector.reload()
    expect(inspector.get_by_test_id("visit-review")).to_contain_text("不一致")
    expect(inspector.get_by_test_id("decision-form")).to_have_count(0)  # a town cannot settle it
    expect(inspector.get_by_test_id("counted")).to_have_text("未开放")

    bureau = login(browser, base_url, "admin")
    bureau.click("#nav a[data-page=onsite]")
    disputed = bureau.get_by_test_id("visits-todo").locator("li").first
    expect(disputed).to_have_attribute("data-review", "disputed")
    disputed.locator("a").click()
    decision = bureau.get_by_test_id("decision-form")
    decision.locator("select[name=outcome]").select_option("fail")
    decision.locator("textarea[name=reason]").fill("门磁与人流均显示未开门，现场记录时间与照片不符")
    shot(bureau, "onsite-bureau-decides")
    decision.locator("button[type=submit]").click()
    expect(bureau.get_by_test_id("visit-review")).to_contain_text("民政局已裁定")
    expect(bureau.get_by_test_id("decision")).to_contain_text("门磁与人流均显示未开门")
    expect(bureau.get_by_test_id("counted")).to_have_text("未开放")
    bureau.click("#nav a[data-page=spot-checks]")
    # The decided check was the town's own: it stands as failed, but the veto counts the bureau's checks (the fleet's
    # one failed day), not the town's supervision.
    expect(bureau.get_by_test_id("vetoes").locator("tr", has_text="汇龙二站")).to_contain_text("1")
    expect(bureau.locator("tr", has_text="2026-10-12").filter(has_text="汇龙二站")).to_contain_text("民政局裁定")
    bureau.click("#nav a[data-page=onsite]")
    expect(bureau.get_by_test_id("visits-done").locator("tr[data-review=decided]")).to_have_count(1)
    shot(bureau, "onsite-coverage")

    staff = login(browser, base_url, "staff-hl1", width=390, height=844)
    assert "现场抽查" not in staff.locator("#nav a").all_inner_texts()
    staff.goto(base_url + "/#/onsite")
    expect(staff.locator("#nav a.active")).to_have_text("本站")
    assert staff.evaluate("async () => (await fetch('/api/v1/onsite/visits', {headers: {Authorization: "
                          "'Bearer ' + sessionStorage.getItem('eldercare.token')}})).status") == 403
    for page in (town, inspector, bureau, staff):
        page.context.close()
