"""A station whose clock runs behind: the day flag, the sensor anomaly and the spot-check reason the cloud emits for
it read in Chinese on the station, alert and spot-check pages (real headless Chromium), never as the bare code."""

from playwright.sync_api import Browser, Route, expect
from sqlalchemy import Engine

from cloud.alerts import service
from cloud.alerts.keys import anomaly_key
from cloud.alerts.kinds import AlertKind, AlertLevel, AlertSpec
from cloud.store.db import make_session_factory
from tests.api import fleet
from tests.dashboard.conftest import login


def test_clock_behind_reads_in_chinese(browser: Browser, base_url: str, fleet_db: Engine) -> None:
    with make_session_factory(fleet_db)() as session:
        service.raise_alert(session, AlertSpec(
            AlertKind.SENSOR_ANOMALY, "hl-01", anomaly_key("clock-behind", "hl-01", "2026-10-09"), AlertLevel.TOWN,
            fleet.NOW, {"date": "2026-10-09", "what": "the station's clock is behind"}))
        session.commit()
    page = login(browser, base_url, "town-hl")

    # The day's flag and the spot check's reason as the API will give them (added to its real answers).
    def flagged(route: Route) -> None:
        day = route.fetch().json()
        route.fulfill(json={**day, "flags": [*day.get("flags", []), "clock_behind"], "time_checks": 40,
                            "clock_behind_minutes": 25.0})

    def checked(route: Route) -> None:
        route.fulfill(json=[{"date": "2026-10-09", "station": "hl-01", "station_name": "汇龙一站",
                             "result": "unverifiable", "reason_code": "clock_behind", "review": None,
                             "reason": "the station's clock is behind: the window cannot be judged"}])

    page.route("**/api/v1/stations/hl-01/days/2026-10-12", flagged)
    page.route("**/api/v1/spot-checks/results*", checked)

    page.goto(base_url + "/#/station/hl-01/2026-10-12")
    flags = page.get_by_test_id("counts").locator("tr", has_text="异常标记")
    expect(flags).to_contain_text("站点时钟滞后（当日读数无法定时，不计入）")
    expect(flags).not_to_contain_text("clock_behind")
    clock = page.get_by_test_id("counts").locator("tr", has_text="时钟核对")
    expect(clock).to_contain_text("站点时钟慢 25 分钟")
    # A day of the fleet as stored: its agents answered no time check (they are from before it), and it says so.
    page.goto(base_url + "/#/station/hl-01/2026-10-09")
    expect(page.get_by_test_id("counts").locator("tr", has_text="时钟核对")).to_contain_text("当日未应答")

    page.goto(base_url + "/#/alerts")
    found = page.get_by_test_id("alerts").get_by_test_id("anomaly")
    expect(found.filter(has_text="站点时钟滞后（2026-10-09）")).to_have_count(1)
    expect(page.get_by_test_id("alerts")).not_to_contain_text("clock-behind")

    page.goto(base_url + "/#/spot-checks")
    results = page.locator("section", has_text="抽查结果")
    expect(results).to_contain_text("站点时钟滞后，检查时段无法用传感器判定，需现场核查")
    expect(results).not_to_contain_text("clock")
    page.context.close()
