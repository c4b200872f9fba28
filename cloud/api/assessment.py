"""The annual assessment sheet of one station, as pure functions of its derived year (no I/O, no clock).

The platform holds the data behind part of the 100-point rubric (附件2): service effectiveness (monthly average
elders served against the grade's standard, person-times, service logs), opening in working hours, themed
activities, the help line (emergency calls answered), and the spot-check veto. Facilities, team and funds are
scored by people; the sheet says which rows the data feeds and leaves the score to the assessors.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import mean
from typing import Any


@dataclass(frozen=True)
class SheetRow:
    """One row of a sheet: the rubric item, what the data says, the standard, and whether it is met."""

    item: str
    value: str
    standard: str
    met: bool | None
    source: str


@dataclass(frozen=True)
class Sheet:
    """A titled table ready for Excel or CSV, with key facts above the rows."""

    title: str
    facts: list[tuple[str, str]]
    header: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class YearFacts:
    """What the store holds about a station's year (gathered by the route, judged here)."""

    station: str
    name: str
    town: str
    grade: str
    year: int
    months: Sequence[Mapping[str, Any]]  # month lines of the year (`cloud derive` month records)
    activity_months: set[str]  # "YYYY-MM" with at least one themed activity
    spot_results: Sequence[Mapping[str, Any]]  # {"date", "start", "end", "result", "reason"}
    failed_spot_checks: int
    veto: bool
    calls: int
    calls_answered: int


def _yes(flag: bool | None) -> str:
    return "—" if flag is None else ("达标" if flag else "未达标")


def assessment(facts: YearFacts, *, subsidy_cny: Mapping[str, int], pass_score: float,
               score: float | None = None) -> Sheet:
    """The annual assessment sheet: rubric rows the data feeds, failed spot checks, veto, and the subsidy."""
    figures = [float(m.get("figure", m.get("elders", 0))) for m in facts.months]
    thresholds = [int(m["threshold"]) for m in facts.months if m.get("threshold") is not None]
    threshold = thresholds[-1] if thresholds else None
    average = round(mean(figures), 1) if figures else None
    average_met = None if average is None or threshold is None else average >= threshold
    compliances = [float(m["compliance"]) for m in facts.months if m.get("compliance") is not None]
    compliance = round(mean(compliances), 4) if compliances else None
    person_times = sum(int(m.get("person_times") or 0) for m in facts.months)
    month_names = [str(m["month"]) for m in facts.months]
    activity_months = sorted(set(month_names) & facts.activity_months)
    amount = subsidy_cny.get(facts.grade, 0)
    eligible: bool | None
    if facts.veto:
        eligible = False
    elif score is None:
        eligible = None  # the assessors' score decides
    else:
        eligible = score >= pass_score
    subsidy = amount if eligible else 0 if eligible is False else None
    basis = {str(m.get("basis", "elders")) for m in facts.months}
    rows = [
        SheetRow("服务成效：月均服务老人数（经常服务人数月均达等级标准）", "—" if average is None else f"{average:g}",
                 f"≥ {threshold}" if threshold is not None else "—", average_met,
                 "人脸识别去重老人数" if basis == {"elders"} else "人流计数人次（无人脸识别设备）"),
        SheetRow("服务成效：全年服务人次（活动人次）", str(person_times), "按月记录", None, "人流计数（扣除工作人员）"),
        SheetRow("服务成效：月度达标月数", f"{sum(1 for m in facts.months if m.get('met'))}/{len(facts.months)}",
                 "每月达标", None, "月度统计"),
        SheetRow("运营管理：工作时间内正常开放（开放合规率）", "—" if compliance is None else f"{compliance:.1%}",
                 "工作时间内正常开放", None, "门磁、人流、人脸、设备在线"),
        SheetRow("运营管理：每月至少一次主题活动", f"{len(activity_months)}/{len(month_names)}", "每月 ≥ 1 次",
                 len(activity_months) == len(month_names) if month_names else None, "站点登记"),
        SheetRow("服务成效：专用求助电话 / 紧急呼叫响应", f"{facts.calls_answered}/{facts.calls}", "全部响应",
                 facts.calls_answered == facts.calls if facts.calls else None, "一键呼叫告警"),
        SheetRow("抽查：未开放次数", str(facts.failed_spot_checks), "未达否决次数", not facts.veto,
                 "民政局、镇（街道）抽查"),
        SheetRow("一票否决", "是" if facts.veto else "否", "否", not facts.veto, "抽查三次（含）未开放"),
    ]
    facts_rows = [
        ("站点", f"{facts.name}（{facts.station}）"), ("镇（街道）", facts.town), ("等级", facts.grade),
        ("年度", str(facts.year)), ("考核得分", "—（由考核组评定）" if score is None else f"{score:g}"),
        ("补贴标准（元）", str(amount)),
        ("应拨补贴（元）", f"待评分（得分 ≥ {pass_score:g} 方可拨付）" if subsidy is None else str(subsidy)),
    ]
    table: list[tuple[Any, ...]] = [(r.item, r.value, r.standard, _yes(r.met), r.source) for r in rows]
    table += [("抽查明细", f"{s['date']} {s.get('start', '')}-{s.get('end', '')}", "开放",
               {"pass": "通过", "fail": "未开放", "excused": "免检", "unverifiable": "无法核实"}.get(
                   str(s["result"]), str(s["result"])), str(s.get("reason") or ""))
              for s in facts.spot_results]
    return Sheet(
        title=f"{facts.year}年度 {facts.name} 考核表",
        facts=facts_rows,
        header=("考核项目", "数据", "标准", "结果", "数据来源"),
        rows=table,
        summary={
            "station": facts.station, "station_name": facts.name, "town": facts.town, "grade": facts.grade,
            "year": facts.year, "months": len(month_names),
            "months_met": sum(1 for m in facts.months if m.get("met")),
            "months_with_activity": len(activity_months), "monthly_average": average, "threshold": threshold,
            "compliance": compliance, "failed_spot_checks": facts.failed_spot_checks, "veto": facts.veto,
            "subsidy_cny": amount, "eligible": eligible, "subsidy_if_eligible": 0 if facts.veto else amount,
            "subsidy": subsidy,
        },
    )


def monthly_report(station: Mapping[str, str], month: Mapping[str, Any], days: Sequence[Mapping[str, Any]],
                   activities: Sequence[Mapping[str, Any]]) -> Sheet:
    """The monthly report: the month line's figures, then every day, then the themed activities."""
    facts = [
        ("站点", f"{station['name']}（{station['id']}）"), ("镇（街道）", station["town"]), ("等级", station["grade"]),
        ("月份", str(month.get("month"))), ("服务老人（去重）", str(month.get("elders"))),
        ("服务人次", str(month.get("person_times"))), ("月度标准", str(month.get("threshold"))),
        ("是否达标", _yes(month.get("met"))), ("月末预计", str(month.get("projection"))),
        ("开放合规率", "—" if month.get("compliance") is None else f"{float(month['compliance']):.1%}"),
        ("主题活动次数", str(len(activities))),
    ]
    rows: list[tuple[Any, ...]] = [
        (d["date"], d.get("verdict"), d.get("compliance"), d.get("person_times"), d.get("elders"),
         d.get("late_open_minutes"), d.get("early_close_minutes"), d.get("unknown_minutes"))
        for d in days
    ]
    rows += [(a["day"], "主题活动", a["theme"], a["participants"], None, None, None, None) for a in activities]
    return Sheet(
        title=f"{station['name']} {month.get('month')} 月度运营报告",
        facts=facts,
        header=("日期", "结论", "开放率", "服务人次", "服务老人", "迟开分钟", "早闭分钟", "未知分钟"),
        rows=rows,
    )
