"""A station that answered none of the cloud's time checks: the day flag, the sensor anomaly and the spot-check
reason the cloud emits for it read in Chinese on the station, alert and spot-check pages (real headless Chromium),
and the day's 时钟核对 row says the checks went unanswered."""

from playwright.sync_api import Browser, Route, expect
from sqlalchemy import Engine

from cloud.alerts import service
from cloud.alerts.keys import anomaly_key
from cloud.alerts.kinds import AlertKind, AlertLevel, AlertSpec
from cloud.store.db import make_session_factory
from tests.api import fleet
from tests.dashboard.conftest import login


def test_clock_unanswered_reads_in_chinese(browser: Browser, base_url: str, fleet_db: Engine) -> None:
    with make_session_factory(fleet_db)() as session:
        service.raise_alert(session, AlertSpec(
            AlertKind.SENSOR_ANOMALY, "hl-01", anomaly_key("clock-unanswered", "hl-01", "2026-10-09"),
            AlertLevel.TOWN, fleet.NOW, {"date": "2026-10-09", "what": "no time check answered"}))
        session.commit()
    page = login(browser, base_url, "town-hl")

    def flagged(route: Route) -> None:
        day = route.fetch().json()
        route.fulfill(json={**day, "flags": [*day.get("flags", []), "clock_unanswered"], "time_checks": 0,
                            "time_checks_asked": 38, "time_checks_unanswered": 38})

    def checked(route: Route) -> None:
        route.fulfill(json=[{"date": "2026-10-09", "station": "hl-01", "station_name": "汇龙一站",
                             "result": "unverifiable", "reason_code": "clock_unanswered", "review": None,
                             "reason": "the station answered none of the cloud's time checks that day"}])

    page.route("**/api/v1/stations/hl-01/days/2026-10-12", flagged)
    page.route("**/api/v1/spot-checks/results*", checked)

    page.goto(base_url + "/#/station/hl-01/2026-10-12")
    flags = page.get_by_test_id("counts").locator("tr", has_text="异常标记")
    expect(flags).to_contain_text("站点未应答时间核对（当日读数无法定时，不计入）")
    expect(flags).not_to_contain_text("clock_unanswered")
    clock = page.get_by_test_id("counts").locator("tr", has_text="时钟核对")
    expect(clock).to_contain_text("未应答：在线期间 38 次时间核对均未应答")

    page.goto(base_url + "/#/alerts")
    found = page.get_by_test_id("alerts").get_by_test_id("anomaly")
    expect(found.filter(has_text="站点不应答时间核对（2026-10-09）")).to_have_count(1)
    expect(page.get_by_test_id("alerts")).not_to_contain_text("clock-unanswered")

    page.goto(base_url + "/#/spot-checks")
    results = page.locator("section", has_text="抽查结果")
    expect(results).to_contain_text("站点未应答当日的时间核对，检查时段无法用传感器判定，需现场核查")
    expect(results).not_to_contain_text("clock")
    page.context.close()
