"""One station-day: opening compliance, late opening / early closing, verdict, visitor counts and evidence."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from cloud.rules.calendar import DayPlan
from cloud.rules.config import RulesConfig
from cloud.rules.intervals import Interval, covering, intersect, merge, subtract, total
from cloud.rules.observations import Obs
from cloud.rules.timeline import Timeline, build_timeline


class Verdict(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    PARTIAL = "partial"
    UNKNOWN = "unknown"
    EXCUSED = "excused"
    NOT_SCHEDULED = "not_scheduled"


@dataclass(frozen=True, slots=True)
class Visitors:
    """A day's visitor figures. `person_times` is counter entries minus staff seen by the camera (or face visits
    when there is no counter); `elders` are the distinct non-staff ids (enrolled and anonymous)."""

    entries: int
    staff_visits: int
    face_visits: int  # non-staff face observations
    person_times: int
    person_times_basis: str  # "counter" or "faces"
    elders: frozenset[str]
    has_counter: bool
    has_camera: bool


@dataclass(frozen=True, slots=True)
class DayResult:
    station: str
    plan: DayPlan
    timeline: Timeline
    verdict: Verdict
    compliance: float | None
    open_share: float | None
    scheduled_s: float
    open_s: float
    closed_s: float
    unknown_s: float
    late_open_s: float
    early_close_s: float
    visitors: Visitors
    clock_faults: int = 0
    notes: list[str] = field(default_factory=list)


def visitors(obs: Sequence[Obs], start: float, end: float) -> Visitors:
    entries = staff = faces = 0
    elders: set[str] = set()
    has_counter = has_camera = False
    for o in obs:
        if o.t < start or o.t >= end:
            continue
        if o.kind == "flow":
            has_counter = True
            entries += o.entries
        elif o.kind == "face":
            has_camera = True
            if o.state == "staff":
                staff += 1
            else:
                faces += 1
                if o.ref:  # an empty id was blanked by retention: a visit still, but no longer a known person
                    elders.add(o.ref)
    if has_counter:
        # Staff walk through the counter too; the camera knows them, so their entries are taken off.
        return Visitors(entries, staff, faces, max(0, entries - staff), "counter", frozenset(elders), True, has_camera)
    return Visitors(0, staff, faces, faces, "faces", frozenset(elders), False, has_camera)


def _late_early(sessions: Sequence[Interval], known: list[Interval], opened: list[Interval]) -> tuple[float, float]:
    """Closed minutes at the start of each session before it first opened, and at its end after it last closed."""
    late = early = 0.0
    for s, e in sessions:
        inside = intersect(opened, [(s, e)])
        if not inside:
            continue  # never open in this session: closed (or unknown) minutes, not lateness
        first, last = inside[0][0], inside[-1][1]
        k = covering(known, s)
        if k is not None and first > s:
            late += min(first, k[1]) - s
        k = covering(known, e - 1e-6)
        if k is not None and last < e:
            early += e - max(last, k[0])
    return late, early


def _verdict(plan: DayPlan, compliance: float | None, known_s: float, config: RulesConfig) -> Verdict:
    if plan.working is None:
        return Verdict.UNKNOWN
    if not plan.working or not plan.sessions:
        return Verdict.NOT_SCHEDULED
    if plan.excused is not None:
        return Verdict.EXCUSED
    if compliance is None or known_s < config.min_known_share * plan.scheduled_seconds:
        return Verdict.UNKNOWN
    if compliance >= config.open_share:
        return Verdict.OPEN
    if compliance <= config.closed_share:
        return Verdict.CLOSED
    return Verdict.PARTIAL


def derive_day(
    station: str, plan: DayPlan, obs: Sequence[Obs], config: RulesConfig, clock_faults: int = 0
) -> DayResult:
    """Derive one day; `obs` sorted, from at least the door lookback before the day to its end."""
    timeline = build_timeline(plan, obs, config)
    sched = merge(plan.sessions)
    scheduled_s = float(total(sched))
    known = intersect(timeline.known, sched)
    opened = intersect(timeline.open, sched)
    known_s, open_s = total(known), total(opened)
    closed_s = known_s - open_s
    unknown_s = scheduled_s - known_s
    open_share = open_s / known_s if known_s > 0 else None
    compliance = open_share
    if plan.excused is not None and known_s > 0:
        # An approved closure excuses the day: its scheduled minutes count as served, so it never lowers compliance.
        compliance = 1.0
    late, early = _late_early(plan.sessions, timeline.known, timeline.open)
    result_visitors = visitors(obs, plan.start, plan.end)
    notes = []
    if plan.working is None:
        notes.append(plan.national.name or "calendar unknown")
        compliance = None
    return DayResult(
        station=station,
        plan=plan,
        timeline=timeline,
        verdict=_verdict(plan, compliance, known_s, config),
        compliance=compliance if sched else None,
        open_share=open_share if sched else None,
        scheduled_s=scheduled_s,
        open_s=open_s,
        closed_s=closed_s,
        unknown_s=unknown_s,
        late_open_s=late,
        early_close_s=early,
        visitors=result_visitors,
        clock_faults=clock_faults,
        notes=notes,
    )


def hhmm(spans: Sequence[Interval], zone: ZoneInfo) -> list[str]:
    """Intervals as local `HH:MM-HH:MM` text, for display."""
    return [
        f"{datetime.fromtimestamp(s, zone):%H:%M}-{datetime.fromtimestamp(e, zone):%H:%M}"
        if e - s >= 60 else f"{datetime.fromtimestamp(s, zone):%H:%M:%S}+{round(e - s)}s"
        for s, e in spans
    ]


def closed_spans(result: DayResult) -> list[Interval]:
    """Scheduled and known, but not open."""
    sched = merge(result.plan.sessions)
    return subtract(intersect(result.timeline.known, sched), intersect(result.timeline.open, sched))
