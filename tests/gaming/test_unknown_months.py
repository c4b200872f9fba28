"""Making a bad month unknown to drop it from the year. A station shut for a month (or serving few elders in it)
unplugs its agent on most days, or its camera all month, so that the month has no rate or no figure; the annual
sheet must not then judge the year on its good months alone. Each month here is derived from the agent's messages
exactly as `cloud derive` and the worker do (October 2026's calendar, relabelled as the year's second month), and
each gamed year is set beside its honest twin."""

from collections.abc import Sequence
from datetime import date, time, timedelta
from typing import Any

from cloud.api.assessment import YearFacts, assessment
from cloud.rules.config import RulesConfig
from cloud.rules.records import MonthRecord
from tests.rules.scenario import StationDay
from tests.rules.test_rollup_month import OCTOBER, WORKING, october

CONFIG = RulesConfig()  # 2A: 50 elders a month


def open_day(d: date, elders: int) -> StationDay:
    visits = [(time(9, 0), f"e-{i:03d}", "elder") for i in range(elders)]
    return StationDay("qd-a", d, door=[(time(8, 20), time(17, 10))], visits=visits, flow_period_s=600)


def shut_day(d: date) -> StationDay:
    return StationDay("qd-a", d, flow_period_s=600)  # the agent reports all day; the door never opens


def month_of(days: Sequence[StationDay], label: str) -> MonthRecord:
    return october(days).model_copy(update={"month": label})


def good_month() -> MonthRecord:
    return month_of([open_day(OCTOBER + timedelta(days=n), 60) for n in range(31)], "2026-01")


def year(second: MonthRecord, first: MonthRecord | None = None) -> dict[str, Any]:
    months = [first or good_month(), second.model_copy(update={"month": "2026-02"})]
    facts = YearFacts(station="qd-a", name="汇龙站", town="汇龙镇", grade="2A", year=2026, months=months,
                      activity_months={m.month for m in months}, spot_results=[], failed_spot_checks=0, veto=False,
                      calls=0, calls_answered=0)
    sheet = assessment(facts, subsidy_cny=CONFIG.subsidy_cny, pass_score=CONFIG.pass_score,
                       min_known_share=CONFIG.month_min_known_share)
    rows = {r[0].split("：")[-1]: r for r in sheet.rows}
    return {"summary": sheet.summary, "rows": rows}


def test_unplugging_the_agent_in_a_shut_month_does_not_lift_the_years_opening_rate() -> None:
    days = [OCTOBER + timedelta(days=n) for n in range(31)]
    honest = month_of([shut_day(d) for d in days], "x")
    # Shut all month, and the agent unplugged on 12 of its 18 working days: under half the month known, no rate.
    silent = set(WORKING[:12])
    gamed = month_of([shut_day(d) for d in days if d not in silent], "x")
    assert honest.compliance == 0.0 and gamed.compliance is None
    fair, tried = year(honest), year(gamed)
    assert fair["summary"]["compliance"] == 0.5
    # Averaging the months' rates gave the gamed year the good month's 100 %.
    assert tried["summary"]["compliance"] == fair["summary"]["compliance"] == 0.5
    (_, value, *_) = tried["rows"]["工作时间内正常开放（开放合规率）"]
    assert value.startswith("50.0%") and "1 个月数据不足" in value


def test_a_year_mostly_unknown_has_no_opening_rate() -> None:
    nothing = month_of([], "x")
    assert year(nothing, first=nothing)["summary"]["compliance"] is None  # not 0 %, not a rate of nothing


def test_switching_the_camera_off_in_a_thin_month_does_not_meet_the_monthly_average() -> None:
    days = [OCTOBER + timedelta(days=n) for n in range(31)]
    honest = month_of([open_day(d, 20) for d in days], "x")
    gamed = month_of([StationDay("qd-a", d, door=[(time(8, 20), time(17, 10))], camera=False, flow_period_s=600)
                      for d in days], "x")
    assert (honest.figure, honest.met) == (20, False) and (gamed.figure, gamed.met) == (None, None)
    fair, tried = year(honest), year(gamed)
    assert fair["summary"]["monthly_average"] == 40 and fair["summary"]["monthly_average_met"] is False
    # The good month alone averages 60, over the 50 of a 2A station: it was 达标 before.
    assert tried["summary"]["monthly_average"] == 60
    assert tried["summary"]["monthly_average_met"] is None
    (_, value, standard, result, _) = tried["rows"]["月均服务老人数（经常服务人数月均达等级标准）"]
    assert (standard, result) == ("≥ 50", "无法确认")
    assert "无人脸数据的 1 个月按 0 计为 30" in value


def test_a_station_that_meets_the_average_even_counting_a_dark_month_as_none_is_met() -> None:
    days = [OCTOBER + timedelta(days=n) for n in range(31)]
    busy = month_of([open_day(d, 120) for d in days], "x")
    dark = month_of([StationDay("qd-a", d, door=[(time(8, 20), time(17, 10))], camera=False, flow_period_s=600)
                     for d in days], "x")
    result = year(dark, first=busy)
    assert result["summary"]["monthly_average_met"] is True
    assert result["rows"]["月均服务老人数（经常服务人数月均达等级标准）"][3] == "达标"
