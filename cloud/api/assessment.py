"""The annual assessment sheet of one station, as pure functions of its derived year (no I/O, no clock).

The platform holds the data behind part of the 100-point rubric (附件2): service effectiveness (monthly average
elders served against the grade's standard, person-times, service logs), opening in working hours, themed
activities, the help line (emergency calls answered), and the spot-check veto. Facilities, team and funds are
scored by people; the sheet says which rows the data feeds and leaves the score to the assessors.

A care centre (照料中心) or neighbourhood point (睦邻点) has no grade: its sheet reports the same data (opening,
elders served, person-times, spot checks, calls), and the grade's monthly standard, the veto and the operating
subsidy read 不适用 (not applicable), never a failure.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from statistics import mean
from typing import Any

from cloud.api.names_zh import NOT_APPLICABLE, month_reason, verdict
from cloud.api.names_zh import kind as kind_zh
from cloud.rules.records import DayRecord, MonthRecord
from cloud.rules.rollup import year_compliance
from firmware_config.kind import is_graded

UNCONFIRMED = "无法确认"  # cannot be confirmed (no face data, or too little data)


@dataclass(frozen=True)
class SheetRow:
    """One row of a sheet: the rubric item, what the data says, the standard, and whether it is met."""

    item: str
    value: str
    standard: str
    met: bool | None
    source: str
    applies: bool = True  # False: the row is the graded scheme's, and reads 不适用 for a kind with no grade


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
    grade: str | None  # None: a kind with no grade
    year: int
    months: Sequence[MonthRecord]  # month lines of the year (`cloud derive` month records)
    activity_months: set[str]  # "YYYY-MM" with at least one themed activity
    # {"date", "start", "end", "result", "reason", "appeal", "planner"}; `planner` "town": the town's own check
    spot_results: Sequence[Mapping[str, Any]]
    failed_spot_checks: int
    veto: bool | None  # None: the veto does not apply (a kind with no grade)
    calls: int
    calls_answered: int
    kind: str = "station"


def _yes(flag: bool | None) -> str:
    return UNCONFIRMED if flag is None else ("达标" if flag else "未达标")


def _grade_text(grade: str | None, kind: str) -> str:
    return grade if grade is not None else f"—（{kind_zh(kind)}，不分等级）"


def _month_met(month: MonthRecord) -> str:
    if month.threshold is None:
        return NOT_APPLICABLE + (f"（{month_reason(month.met_reason)}）" if month.met_reason else "")
    return _yes(month.met) + (f"（{month_reason(month.met_reason)}）" if month.met_reason else "")


def _pct(value: float | None) -> str:
    return UNCONFIRMED if value is None else f"{value:.1%}"


def assessment(facts: YearFacts, *, subsidy_cny: Mapping[str, int], pass_score: float, min_known_share: float,
               score: float | None = None, today: date | None = None, answer_minutes: float | None = None) -> Sheet:
    """The annual assessment sheet: rubric rows the data feeds, failed spot checks, veto, and the subsidy. `today`:
    the day the sheet is made, in the station's zone (None: the year is over); `min_known_share`: the known share
    of the scheduled minutes below which the year's opening rate cannot be judged (the month's rule,
    `month_min_known_share`); `answer_minutes`: how soon a call must have been acknowledged to count as answered in
    `facts` (named on the sheet).

    Unknown is never rewarded: a month without face data or with too little known cannot drop out of the year's
    figures to lift them. The opening rate is the year's served minutes over its scheduled minutes (unknown minutes
    never served), not an average of the months' rates; the monthly average of elders is met only if it is met with
    every month without face data counted as 0, and reads 无法确认 when only the months with data reach it."""
    # A month still running (December, whenever the sheet is made before the year ends: applications are in by
    # 5 December) has neither failed its threshold nor missed its themed activity yet: the rubric's monthly average
    # and the monthly rows judge the months that are over, and the running month is named beside them. Running is
    # by the calendar, not by the month line's data: a month whose last days were never derived is over all the same.
    current = "" if today is None else f"{today:%Y-%m}"
    over = [m for m in facts.months if m.month < current or not current]
    running = [m.month for m in facts.months if current and m.month >= current]
    note = f"（{'、'.join(running)} 未结束，不计）" if running else ""
    # Months whose threshold cannot be confirmed (no face data) have no figure. Their elders are unknown, not none:
    # the average over the months with a figure is shown, but it meets the standard only if it still does with those
    # months counted as 0 (a station cannot lift its year by switching the camera off in its thin months); else it
    # cannot be confirmed, and it is missed only when every month had a figure.
    figures = [float(m.figure) for m in over if m.figure is not None]
    unconfirmed = sum(1 for m in over if m.met is None)
    graded = is_graded(facts.kind)
    unconfirmed = unconfirmed if graded else 0
    threshold = facts.months[-1].threshold if facts.months and graded else None
    average = round(mean(figures), 1) if figures else None
    floor = round(sum(figures) / (len(figures) + unconfirmed), 1) if figures and unconfirmed else average
    average_met: bool | None
    if average is None or threshold is None:
        average_met = None
    elif floor is not None and floor >= threshold:
        average_met = True
    else:
        average_met = None if unconfirmed else False
    compliance = year_compliance(facts.months, min_known_share)
    unjudged = sum(1 for m in facts.months if m.compliance is None)
    person_times = sum(m.person_times for m in facts.months)
    anonymous = sum(m.anonymous_visitors for m in facts.months)
    uncorroborated = sum(m.elders_uncorroborated for m in facts.months)
    flagged_days = sum(m.faces_uncorroborated_days for m in facts.months)
    unknown_minutes = sum(m.unknown_minutes for m in facts.months)
    month_names = [m.month for m in over]
    activity_months = sorted(set(month_names) & facts.activity_months)
    amount: int | None = subsidy_cny.get(facts.grade, 0) if graded and facts.grade is not None else None
    eligible: bool | None
    if not graded:
        eligible = None  # no operating subsidy by grade to be eligible for
    elif facts.veto:
        eligible = False
    elif score is None:
        eligible = None  # the assessors' score decides
    else:
        eligible = score >= pass_score
    subsidy = amount if eligible else 0 if eligible is False else None
    months_met = sum(1 for m in over if m.met) if graded else None
    not_graded = f"{NOT_APPLICABLE}（{kind_zh(facts.kind)}不分等级，无此项）"
    basis = "人脸识别去重的登记老人数（不含工作人员、匿名访客）"
    if unconfirmed:
        basis += f"；{unconfirmed} 个月无人脸数据，{UNCONFIRMED}"
    rows = [
        SheetRow("服务成效：月均服务老人数（经常服务人数月均达等级标准）",
                 (UNCONFIRMED if average is None else f"{average:g}")
                 + (f"（仅含有人脸数据的 {len(figures)} 个月；无人脸数据的 {unconfirmed} 个月按 0 计为 {floor:g}）"
                    if unconfirmed and average is not None else "") + note,
                 f"≥ {threshold}" if threshold is not None else ("—" if graded else not_graded), average_met, basis,
                 graded),
        SheetRow("服务成效：全年服务人次（活动人次）", str(person_times), "按月记录", None, "人流计数（扣除工作人员）"),
        SheetRow("服务成效：匿名访客（未登记人脸，不计入达标）", str(anonymous), "—", None, "人脸识别（未登记）"),
        SheetRow("服务成效：人脸未经人流核实的老人（不计入达标，各月合计）", str(uncorroborated), "—", None,
                 "人脸识别时前后无人流计数器进出记录（可能是照片），不计入服务老人数"
                 + (f"；{flagged_days} 天有此标记" if flagged_days else "")),
        SheetRow("服务成效：月度达标月数",
                 (f"{months_met}/{len(over)}" if graded else NOT_APPLICABLE)
                 + (f"（{unconfirmed} 个月{UNCONFIRMED}）" if unconfirmed else "") + note,
                 "每月达标" if graded else not_graded, None, "月度统计", graded),
        SheetRow("运营管理：工作时间内正常开放（开放合规率）", _pct(compliance)
                 + (f"（其中 {unjudged} 个月数据不足，单月{UNCONFIRMED}）" if unjudged else ""),
                 "工作时间内正常开放", None,
                 "门磁、人流、人脸、设备在线；全年开放时长 ÷ 全年计划时长，未知时长不计为开放"),
        SheetRow("运营管理：工作时间内未知时长（分钟）", str(unknown_minutes), "—", None, "设备离线或关闭"),
        SheetRow("运营管理：每月至少一次主题活动", f"{len(activity_months)}/{len(month_names)}" + note, "每月 ≥ 1 次",
                 len(activity_months) == len(month_names) if month_names else None, "站点登记"),
        # The rubric asks for a dedicated help line (科学管理 (5)), which the assessors see for themselves; the
        # calls answered are its evidence, not a standard of their own.
        SheetRow("科学管理：专用求助电话（一键呼叫响应情况，供参考）",
                 f"{facts.calls_answered}/{facts.calls} 次及时响应", "有专用求助电话（由考核组认定）", None,
                 "一键呼叫告警" + ("" if answer_minutes is None else f"（{answer_minutes:g} 分钟内确认为响应）")),
        SheetRow("抽查：未开放次数", str(facts.failed_spot_checks), "未达否决次数" if graded else not_graded,
                 not facts.veto, "计入一票否决的抽查（未开放日数）" if graded else "民政局抽查（未开放日数）", graded),
        SheetRow("一票否决", "是" if facts.veto else ("否" if graded else NOT_APPLICABLE),
                 "否" if graded else not_graded, not facts.veto, "抽查三次（含）未开放", graded),
        # The plan's other veto items are facts no sensor sees: the assessors record them, and a veto among them
        # withholds the subsidy whatever the rows above say.
        SheetRow("一票否决：不接受民政部门监督管理或弄虚作假", "—（由考核组认定）" if graded else NOT_APPLICABLE,
                 "否" if graded else not_graded, None, "考核组", graded),
        SheetRow("一票否决：发生安全事故", "—（由考核组认定）" if graded else NOT_APPLICABLE,
                 "否" if graded else not_graded, None, "考核组", graded),
    ]
    facts_rows = [
        ("站点", f"{facts.name}（{facts.station}）"), ("镇（街道）", facts.town), ("类型", kind_zh(facts.kind)),
        ("等级", _grade_text(facts.grade, facts.kind)),
        ("年度", str(facts.year)), ("考核得分", "—（由考核组评定）" if score is None else f"{score:g}"),
    ]
    if graded:
        facts_rows += [
            ("补贴标准（元）", str(amount)),
            ("应拨补贴（元）", f"待评分（得分 ≥ {pass_score:g} 方可拨付）" if subsidy is None else str(subsidy)),
        ]
    else:
        facts_rows += [("运营补贴", f"{NOT_APPLICABLE}（{kind_zh(facts.kind)}不按等级发放运营补贴）")]
    table: list[tuple[Any, ...]] = [(r.item, r.value, r.standard, _yes(r.met) if r.applies else NOT_APPLICABLE,
                                     r.source) for r in rows]
    table += [("抽查明细", f"{s['date']} {s.get('start', '')}-{s.get('end', '')}", "开放",
               {"pass": "通过", "fail": "未开放", "excused": "免检", "unverifiable": "无法核实"}.get(
                   str(s["result"]), str(s["result"])),
               ("镇（街道）检查：" if s.get("planner") == "town" else "") + str(s.get("reason") or ""))
              for s in facts.spot_results]
    table += [appeal_row(s) for s in facts.spot_results if s.get("appeal")]
    return Sheet(
        title=f"{facts.year}年度 {facts.name} 考核表",
        facts=facts_rows,
        header=("考核项目", "数据", "标准", "结果", "数据来源"),
        rows=table,
        summary={
            "station": facts.station, "station_name": facts.name, "town": facts.town, "kind": facts.kind,
            "graded": graded, "grade": facts.grade, "year": facts.year, "months": len(month_names),
            "months_met": months_met, "months_unconfirmed": unconfirmed if graded else None,
            "months_with_activity": len(activity_months), "monthly_average": average,
            "monthly_average_met": average_met, "threshold": threshold,
            "elders_uncorroborated": uncorroborated, "faces_uncorroborated_days": flagged_days,
            "compliance": compliance, "failed_spot_checks": facts.failed_spot_checks, "veto": facts.veto,
            "subsidy_cny": amount, "eligible": eligible,
            "subsidy_if_eligible": None if not graded else 0 if facts.veto else amount,
            "subsidy": subsidy,
        },
    )


def monthly_report(station: Mapping[str, str | None], month: MonthRecord | None, days: Sequence[DayRecord],
                   activities: Sequence[Mapping[str, Any]]) -> Sheet:
    """The monthly report: the month line's figures, then every day, then the themed activities."""
    label = month.month if month is not None else (f"{days[0].date:%Y-%m}" if days else "")
    facts: list[tuple[str, str]] = [
        ("站点", f"{station['name']}（{station['id']}）"), ("镇（街道）", str(station["town"])),
        ("类型", kind_zh(station.get("kind") or "station")),
        ("等级", _grade_text(station.get("grade"), station.get("kind") or "station")), ("月份", label),
    ]
    if month is not None:
        facts += [
            # Without face data the elders are not counted: 0 would read as a counted zero.
            ("服务老人（去重）", f"{UNCONFIRMED}（无人脸数据）" if month.basis == "unconfirmed" else str(month.elders)),
            ("人脸未经人流核实的老人（不计入达标）", str(month.elders_uncorroborated)),
            ("匿名访客（不计入达标）", str(month.anonymous_visitors)),
            ("服务人次", str(month.person_times)),
            ("月度标准", NOT_APPLICABLE if month.threshold is None else str(month.threshold)),
            ("是否达标", _month_met(month)),
            ("月末预计", NOT_APPLICABLE if month.threshold is None
             else UNCONFIRMED if month.projection is None else str(month.projection)),
            ("开放合规率",
             _pct(month.compliance)
             + (f"（{month_reason(month.compliance_reason)}）" if month.compliance_reason else "")),
            ("已知时长占比", _pct(month.known_share)), ("未知时长（分钟）", str(month.unknown_minutes)),
        ]
    facts.append(("主题活动次数", str(len(activities))))
    # A day without a face may be a camera that saw nobody; a month without any is no face data at all.
    no_faces = month is not None and month.basis == "unconfirmed"
    rows: list[tuple[Any, ...]] = [
        (d.date.isoformat(), verdict(d.verdict.value), d.compliance, d.known_share, d.person_times,
         UNCONFIRMED if no_faces else d.elders,
         d.elders_uncorroborated, d.anonymous_visitors, d.late_open_minutes, d.early_close_minutes,
         d.unknown_minutes, "、".join(FLAG_NAMES.get(f, f) for f in d.flags))
        for d in days
    ]
    rows += [(a["day"], "主题活动", a["theme"], None, a["participants"], None, None, None, None, None, None, None)
             for a in activities]
    return Sheet(
        title=f"{station['name']} {label} 月度运营报告",
        facts=facts,
        header=("日期", "结论", "开放率", "已知时长占比", "服务人次", "服务老人", "未经核实老人（不计入）", "匿名访客",
                "迟开分钟", "早闭分钟", "未知时长（分钟）", "异常标记"),
        rows=rows,
    )


APPEAL_STATUS = {"pending": "待决定", "upheld": "申诉成立（不计入否决）", "rejected": "申诉驳回（维持）"}


def appeal_row(spot: Mapping[str, Any]) -> tuple[Any, ...]:
    """A check's appeal as one row: the check, the station's text, the decision, and who decided when and why."""
    appeal = spot["appeal"]
    decided = (f"{appeal['decided_by']} {appeal['decided_at']}：{appeal['decision_reason']}"
               if appeal.get("decided_by") else "")
    return ("抽查申诉", f"{spot['date']} {spot.get('start', '')}-{spot.get('end', '')}",
            f"申诉（{appeal['filed_by']}）：{appeal['text']}", APPEAL_STATUS.get(appeal["status"], appeal["status"]),
            decided)


FLAG_NAMES = {"equipment_off": "工作时间内设备关闭", "counts_unbalanced": "进出人数不平衡",
              "door_open_idle": "门开但全时段无人进出", "faces_uncorroborated": "人脸无对应人流进出（疑似照片）",
              "faces_unchecked": "人流计数器未上报时计入的老人",
              "readings_repeated": "同一读数换编号重复上报（只计一次）",
              "late_evidence": "在线期间的事件事后补报（不计入）",
              "readings_out_of_sequence": "事后补报的读数序号与时间不符（不计入）",
              "faces_unbacked": "仅凭无人流进出的人脸判为开放",
              "platform_lost_messages": "平台丢失部分数据（非站点原因）",
              "clock_behind": "站点时钟滞后（当日读数无法定时，不计入）",
              "clock_unanswered": "站点未应答时间核对（当日读数无法定时，不计入）",
              "clock_stepped": "站点时钟被调动（当日读数无法定时，不计入）"}
