"""The Qidong bureau's operating plan for community stations (启民发〔2021〕119号), rule by rule, as a bureau would
check the platform against it: the figures are its defaults and every one of them is the deployment's to configure;
the annual sheet judges what the plan judges."""

from datetime import date, time
from pathlib import Path
from typing import Any

from cloud.api.assessment import YearFacts, assessment
from cloud.derive.deployment import read_rules
from cloud.rules.config import RulesConfig
from cloud.rules.records import MonthRecord
from cloud.rules.spotcheck import SpotResult, judge, vetoes
from tests.rules.conftest import derive
from tests.rules.scenario import StationDay

CONFIG = RulesConfig()


def test_the_defaults_are_the_plans_figures() -> None:
    # "2A、3A、4A级站点月服务老人分别不得少于50人、100人、300人"
    assert {g: CONFIG.threshold(g) for g in ("2A", "3A", "4A")} == {"2A": 50, "3A": 100, "4A": 300}
    # "抽查有三次以上（含三次）未对外开放"
    assert CONFIG.veto_failures == 3
    # "5A、4A、3A、2A ... 分别给予3.2万元、1.6万元、0.8万元、0.5万元的运营补贴"
    assert CONFIG.subsidy_cny == {"5A": 32000, "4A": 16000, "3A": 8000, "2A": 5000}
    # "年底考核分低于80分的站点 ... 不予发放运营补贴"
    assert CONFIG.pass_score == 80


def test_a_county_sets_its_own_subsidies_and_pass_score_in_the_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("subsidy_cny: {5A: 40000, 4A: 20000, 3A: 10000, 2A: 6000}\npass_score: 85\n", encoding="utf-8")
    config = read_rules(rules)
    assert config.subsidy_cny["2A"] == 6000 and config.pass_score == 85
    sheet = assessment(facts([month(m, 60) for m in range(1, 13)]), subsidy_cny=config.subsidy_cny,
                       pass_score=config.pass_score, min_known_share=config.month_min_known_share, score=84)
    assert sheet.summary["subsidy_cny"] == 6000 and sheet.summary["subsidy"] == 0


def month(n: int, elders: int, *, complete: bool = True, threshold: int = 50) -> MonthRecord:
    fields: dict[str, Any] = dict(
        station="qd-a", month=f"2026-{n:02d}", elders=elders, person_times=elders * 3, threshold=threshold,
        met=elders >= threshold, grade="2A", basis="elders", basis_note=None, figure=elders, complete=complete,
        as_of=date(2026, n, 10 if not complete else 28), progress=elders / threshold, projection=None,
        at_risk=None, working_days=21, working_days_elapsed=21 if complete else 7, compliance=0.95,
        verdicts={"open": 21}, late_open_minutes=0, early_close_minutes=0, unknown_minutes=0)
    return MonthRecord(**fields)


def facts(months: list[MonthRecord], *, veto: bool = False, activity: set[str] | None = None) -> YearFacts:
    return YearFacts(station="qd-a", name="汇龙站", town="汇龙镇", grade="2A", year=2026, months=months,
                     activity_months={m.month for m in months} if activity is None else activity, spot_results=[],
                     failed_spot_checks=3 if veto else 0, veto=veto, calls=0, calls_answered=0)


def sheet(f: YearFacts, score: float | None = None, today: date | None = None) -> Any:
    return assessment(f, subsidy_cny=CONFIG.subsidy_cny, pass_score=CONFIG.pass_score,
                      min_known_share=CONFIG.month_min_known_share, score=score, today=today)


def rows(f: YearFacts, today: date | None = None) -> dict[str, tuple[Any, ...]]:
    return {r[0]: r for r in sheet(f, today=today).rows}


def test_a_score_of_80_earns_the_subsidy_and_less_does_not() -> None:
    year = facts([month(m, 60) for m in range(1, 13)])
    assert sheet(year, 80).summary["subsidy"] == 5000
    assert sheet(year, 79.9).summary["subsidy"] == 0
    assert sheet(year).summary["subsidy"] is None  # the assessors' score decides
    assert sheet(facts([month(m, 60) for m in range(1, 13)], veto=True), 100).summary["subsidy"] == 0


DEC_10 = date(2026, 12, 10)
AVERAGE = "服务成效：月均服务老人数（经常服务人数月均达等级标准）"
ACTIVITY = "运营管理：每月至少一次主题活动"


def test_the_monthly_average_is_over_months_that_are_over() -> None:
    # The plan has applications in by 5 December and the assessment done by 20 December, so December is always
    # running when the sheet is made. A 2A station serving 52 elders every month has 18 by the 10th: averaging that
    # in (49.8) would fail a station the rubric passes ("享受经常服务的人数月均达相应等级标准要求人数以上").
    year = facts([month(m, 52) for m in range(1, 12)] + [month(12, 18, complete=False)])
    row = rows(year, today=DEC_10)[AVERAGE]
    assert row[1].startswith("52") and "2026-12 未结束" in row[1] and row[3] == "达标"
    assert sheet(year, today=DEC_10).summary["monthly_average"] == 52
    # Once December is over it counts like any month, whatever day its data ran to.
    assert rows(year, today=date(2027, 1, 5))[AVERAGE][3] == "未达标"
    assert rows(year)[AVERAGE][3] == "未达标"  # a sheet of a year that is over


def test_a_month_that_is_over_counts_even_if_its_last_days_were_never_derived() -> None:
    # November's line stopped on the 27th (the worker was down, the station silent): it is over all the same, and a
    # month below the figure is not hidden by calling it running.
    year = facts([month(m, 52) for m in range(1, 11)] + [month(11, 10, complete=False)])
    assert rows(year, today=DEC_10)[AVERAGE][1].startswith("48.2")


def test_a_themed_activity_is_owed_by_the_months_that_are_over() -> None:
    # "每月至少开展一次主题活动": December's may still come after the 10th.
    months = [month(m, 52) for m in range(1, 12)] + [month(12, 18, complete=False)]
    year = facts(months, activity={f"2026-{m:02d}" for m in range(1, 12)})
    assert rows(year, today=DEC_10)[ACTIVITY][3] == "达标"
    missed = facts(months, activity={f"2026-{m:02d}" for m in range(1, 11)})
    assert rows(missed, today=DEC_10)[ACTIVITY][3] == "未达标"


def test_the_sheet_leaves_the_other_veto_items_to_the_assessors() -> None:
    # The veto also applies to "不接受民政部门监督管理或弄虚作假" and "发生安全事故", which no sensor sees: the sheet
    # must not read as if the spot checks were the whole veto.
    items = [r[0] for r in sheet(facts([month(m, 60) for m in range(1, 13)])).rows]
    assert any("安全事故" in item for item in items)
    assert any("弄虚作假" in item for item in items)


def test_the_sheet_says_which_checks_were_a_towns_own() -> None:
    spots = [{"date": "2026-10-13", "start": "08:30", "end": "09:30", "result": "fail", "reason": "closed",
              "planner": "town", "appeal": None},
             {"date": "2026-10-14", "start": "09:00", "end": "10:00", "result": "fail", "reason": "closed",
              "planner": "bureau", "appeal": None}]
    year = facts([month(m, 60) for m in range(1, 13)])
    details = [r for r in sheet(YearFacts(**{**year.__dict__, "spot_results": spots})).rows if r[0] == "抽查明细"]
    assert [r[4] for r in details] == ["镇（街道）检查：closed", "closed"]


def test_working_hours_follow_the_state_councils_calendar_in_the_veto() -> None:
    # "确保工作时间内站点的正常开放": a station shut on the make-up Saturday after National Day (2026-10-10, 调休)
    # fails a check that day; the same shut door on a Golden Week weekday (2026-10-02) owes nothing. Three failed
    # days, the make-up one among them, set the veto ("三次以上（含三次）"); two do not.
    def check(day: date) -> SpotResult:
        result = derive(StationDay("qd-a", day).messages(), day)
        return judge(result, time(9), time(10), "Asia/Shanghai", CONFIG).result

    assert check(date(2026, 10, 2)) is SpotResult.EXCUSED
    days = [date(2026, 10, 10), date(2026, 10, 13), date(2026, 10, 14)]
    results = [("qd-a", d, check(d)) for d in days]
    assert [r for _, _, r in results] == [SpotResult.FAIL] * 3
    assert [(v.failed, v.veto) for v in vetoes(results, CONFIG)] == [(3, True)]
    assert [(v.failed, v.veto) for v in vetoes(results[1:], CONFIG)] == [(2, False)]
