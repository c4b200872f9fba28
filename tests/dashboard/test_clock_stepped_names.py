"""A station whose clock was stepped within one boot (set back while offline): the day flag, the sensor anomaly and the
spot-check reason the cloud emits for it read in Chinese on the station, alert and spot-check pages (real headless
Chromium), never as the bare code."""

from playwright.sync_api import Browser, Route, expect
from sqlalchemy import Engine

from cloud.alerts import service
from cloud.alerts.keys import anomaly_key
from cloud.alerts.kinds import AlertKind, AlertLevel, AlertSpec
from cloud.store.db import make_session_factory
from tests.api import fleet
from tests.dashboard.conftest import login


def test_clock_stepped_reads_in_chinese(browser: Browser, base_url: str, fleet_db: Engine) -> None:
    with make_session_factory(fleet_db)() as session:
        service.raise_alert(session, AlertSpec(
            AlertKind.SENSOR_ANOMALY, "hl-01", anomaly_key("clock-stepped", "hl-01", "2026-10-09"), AlertLevel.TOWN,
            fleet.NOW, {"date": "2026-10-09", "what": "the station's clock was set back by 30 min"}))
        session.commit()
    page = login(browser, base_url, "town-hl")

    # The day's flag and the spot check's reason as the API will give them (added to its real answers).
    def flagged(route: Route) -> None:
        day = route.fetch().json()
        route.fulfill(json={**day, "flags": [*day.get("flags", []), "clock_stepped"], "time_checks": 0,
                            "clock_stepped_minutes": 30.1})

    def checked(route: Route) -> None:
        route.fulfill(json=[{"date": "2026-10-09", "station": "hl-01", "station_name": "汇龙一站",
                             "result": "unverifiable", "reason_code": "clock_stepped", "review": None,
                             "reason": "the station's clock was stepped: the window cannot be judged"}])

    page.route("**/api/v1/stations/hl-01/days/2026-10-12", flagged)
    page.route("**/api/v1/spot-checks/results*", checked)

    page.goto(base_url + "/#/station/hl-01/2026-10-12")
    flags = page.get_by_test_id("counts").locator("tr", has_text="异常标记")
    expect(flags).to_contain_text("站点时钟被调动（当日读数无法定时，不计入）")
    expect(flags).not_to_contain_text("clock_stepped")
    clock = page.get_by_test_id("counts").locator("tr", has_text="时钟核对")
    expect(clock).to_contain_text("站点时钟被调动 30.1 分钟")

    page.goto(base_url + "/#/alerts")
    found = page.get_by_test_id("alerts").get_by_test_id("anomaly")
    expect(found.filter(has_text="站点时钟被调动（2026-10-09）")).to_have_count(1)
    expect(page.get_by_test_id("alerts")).not_to_contain_text("clock-stepped")

    page.goto(base_url + "/#/spot-checks")
    results = page.locator("section", has_text="抽查结果")
    expect(results).to_contain_text("站点时钟被调动，检查时段无法用传感器判定，需现场核查")
    expect(results).not_to_contain_text("clock")
    page.context.close()
