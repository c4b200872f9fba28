"""A station's clock found behind, stepped within one boot (set back while offline), or its time checks left
unanswered: the day flag, the sensor anomaly and the spot-check reason the cloud emits for each read in Chinese on
the station, alert and spot-check pages (real headless Chromium), never as the bare code, and the day's 时钟核对 row
says what was found."""

from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Route, expect
from sqlalchemy import Engine

from cloud.alerts import service
from cloud.alerts.keys import anomaly_key
from cloud.alerts.kinds import AlertKind, AlertLevel, AlertSpec
from cloud.store.db import make_session_factory
from tests.api import fleet
from tests.dashboard.conftest import login


@dataclass(frozen=True)
class Finding:
    code: str  # the day flag and spot-check reason code (the anomaly's is the same with hyphens)
    day: dict[str, Any]  # the day's fields the API gives with the flag
    flag_zh: str  # the flag on the station's day page
    clock_zh: str  # the day's 时钟核对 row
    anomaly_zh: str  # the alert's name, before its date
    reason_zh: str  # the spot check's reason
    what: str  # the alert's own words, and the spot check's English reason

    @property
    def anomaly(self) -> str:
        return self.code.replace("_", "-")


FINDINGS = [
    Finding("clock_behind", {"time_checks": 40, "clock_behind_minutes": 25.0},
            "站点时钟滞后（当日读数无法定时，不计入）", "站点时钟慢 25 分钟", "站点时钟滞后",
            "站点时钟滞后，检查时段无法用传感器判定，需现场核查", "the station's clock is behind"),
    Finding("clock_stepped", {"time_checks": 0, "clock_stepped_minutes": 30.1},
            "站点时钟被调动（当日读数无法定时，不计入）", "站点时钟被调动 30.1 分钟", "站点时钟被调动",
            "站点时钟被调动，检查时段无法用传感器判定，需现场核查", "the station's clock was set back by 30 min"),
    Finding("clock_unanswered", {"time_checks": 0, "time_checks_asked": 38, "time_checks_unanswered": 38},
            "站点未应答时间核对（当日读数无法定时，不计入）", "未应答：在线期间 38 次时间核对均未应答",
            "站点不应答时间核对", "站点未应答当日的时间核对，检查时段无法用传感器判定，需现场核查",
            "the station answered none of the cloud's time checks that day"),
]


@pytest.mark.parametrize("finding", FINDINGS, ids=[f.code for f in FINDINGS])
def test_a_clock_finding_reads_in_chinese(browser: Browser, base_url: str, fleet_db: Engine,
                                          finding: Finding) -> None:
    with make_session_factory(fleet_db)() as session:
        service.raise_alert(session, AlertSpec(
            AlertKind.SENSOR_ANOMALY, "hl-01", anomaly_key(finding.anomaly, "hl-01", "2026-10-09"), AlertLevel.TOWN,
            fleet.NOW, {"date": "2026-10-09", "what": finding.what}))
        session.commit()
    page = login(browser, base_url, "town-hl")

    # The day's flag and the spot check's reason as the API will give them (added to its real answers).
    def flagged(route: Route) -> None:
        day = route.fetch().json()
        route.fulfill(json={**day, "flags": [*day.get("flags", []), finding.code], **finding.day})

    def checked(route: Route) -> None:
        route.fulfill(json=[{"date": "2026-10-09", "station": "hl-01", "station_name": "汇龙一站",
                             "result": "unverifiable", "reason_code": finding.code, "review": None,
                             "reason": finding.what}])

    page.route("**/api/v1/stations/hl-01/days/2026-10-12", flagged)
    page.route("**/api/v1/spot-checks/results*", checked)

    page.goto(base_url + "/#/station/hl-01/2026-10-12")
    flags = page.get_by_test_id("counts").locator("tr", has_text="异常标记")
    expect(flags).to_contain_text(finding.flag_zh)
    expect(flags).not_to_contain_text(finding.code)
    clock = page.get_by_test_id("counts").locator("tr", has_text="时钟核对")
    expect(clock).to_contain_text(finding.clock_zh)

    page.goto(base_url + "/#/alerts")
    found = page.get_by_test_id("alerts").get_by_test_id("anomaly")
    expect(found.filter(has_text=f"{finding.anomaly_zh}（2026-10-09）")).to_have_count(1)
    expect(page.get_by_test_id("alerts")).not_to_contain_text(finding.anomaly)

    page.goto(base_url + "/#/spot-checks")
    results = page.locator("section", has_text="抽查结果")
    expect(results).to_contain_text(finding.reason_zh)
    expect(results).not_to_contain_text("clock")
    page.context.close()


def test_a_day_without_an_answer_says_its_clock_was_not_checked(browser: Browser, base_url: str) -> None:
    # A day of the fleet as stored: its agents answered no time check (they are from before it), and it says so.
    page = login(browser, base_url, "town-hl")
    page.goto(base_url + "/#/station/hl-01/2026-10-09")
    expect(page.get_by_test_id("counts").locator("tr", has_text="时钟核对")).to_contain_text("当日未应答")
    page.context.close()
