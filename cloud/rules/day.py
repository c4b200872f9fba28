"""One station-day: opening compliance, late opening / early closing, verdict, visitor counts and evidence."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from cloud.rules.calendar import DayPlan
from cloud.rules.clock_check import FLAG_CLOCK_BEHIND, Behind
from cloud.rules.clock_steps import FLAG_CLOCK_STEPPED, Step, describe
from cloud.rules.config import RulesConfig
from cloud.rules.intervals import Interval, covering, intersect, merge, subtract, total
from cloud.rules.late import withheld
from cloud.rules.losses import FLAG_PLATFORM_LOST, overlapping
from cloud.rules.observations import Obs, distinct_readings, sort_key
from cloud.rules.session_flags import door_idle_sessions, equipment_off, faces_unbacked_sessions
from cloud.rules.timeline import Timeline, build_timeline
from cloud.rules.unanswered import FLAG_CLOCK_UNANSWERED, Asked
from cloud.rules.visitors import Visitors, face_flags, visitors


class Verdict(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    PARTIAL = "partial"
    UNKNOWN = "unknown"
    EXCUSED = "excused"
    NOT_SCHEDULED = "not_scheduled"


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
    known_share: float | None = None  # known / scheduled minutes
    equipment_off: list[Interval] = field(default_factory=list)  # unknown stretches after the station was seen
    door_idle: list[Interval] = field(default_factory=list)  # sessions with the door open and nobody moving
    faces_unbacked: list[Interval] = field(default_factory=list)  # sessions open only by faces no crossing backs
    count_balance: int | None = None  # counter in - out over the day; None without a counter
    compliance_so_far: float | None = None  # today: open share of the scheduled minutes up to `until`
    verdict_so_far: Verdict | None = None  # today: the verdict on the scheduled minutes up to `until`
    flags: list[str] = field(default_factory=list)
    clock_faults: int = 0
    notes: list[str] = field(default_factory=list)
    platform_lost: list[Interval] = field(default_factory=list)  # windows the platform lost messages in, whole
    backlog_lost: list[Interval] = field(default_factory=list)  # stretches of the backlog sent during one, in the day
    until: float | None = None  # the worker's clock while the day runs (rules about whole sessions judge ended ones)
    clock_behind: list[Behind] = field(default_factory=list)  # answers to time checks stamped before they were asked
    time_checks: int = 0  # answers to the cloud's time checks stamped in the day, behind or not
    asked: Asked = field(default_factory=Asked)  # the day's checks asked while heard live, and those unanswered
    clock_steps: list[Step] = field(default_factory=list)  # the station's clock stepped within a boot, in the day


FLAG_EQUIPMENT_OFF = "equipment_off"
FLAG_COUNTS_UNBALANCED = "counts_unbalanced"
FLAG_DOOR_IDLE = "door_open_idle"
FLAG_READINGS_REPEATED = "readings_repeated"
FLAG_LATE_EVIDENCE = "late_evidence"
FLAG_OUT_OF_SEQUENCE = "readings_out_of_sequence"
FLAG_FACES_UNBACKED = "faces_unbacked"


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


def _verdict(plan: DayPlan, compliance: float | None, known_share: float | None, config: RulesConfig) -> Verdict:
    if plan.working is None:
        return Verdict.UNKNOWN
    if not plan.working or not plan.sessions:
        return Verdict.NOT_SCHEDULED
    if plan.excused is not None:
        return Verdict.EXCUSED
    if compliance is None or known_share is None or known_share < config.min_known_share:
        return Verdict.UNKNOWN
    if compliance >= config.open_share:
        return Verdict.OPEN
    if compliance <= config.closed_share:
        return Verdict.CLOSED
    return Verdict.PARTIAL


def _so_far(plan: DayPlan, sched: list[Interval], timeline: Timeline, until: float | None,
            config: RulesConfig) -> tuple[float | None, Verdict | None]:
    """While the day's sessions run (`until` before the last one ends): compliance and verdict on the scheduled
    minutes so far, with the same shares as the day's. None otherwise: the day's own figures then say it all."""
    if until is None or not sched or not plan.start <= until < sched[-1][1]:
        return None, None
    elapsed = intersect(sched, [(float(plan.start), until)])
    elapsed_s = total(elapsed)
    if plan.working is None or elapsed_s == 0:
        return None, _verdict(plan, None, None, config)
    if plan.excused is not None:
        return 1.0, Verdict.EXCUSED
    compliance = total(intersect(timeline.open, elapsed)) / elapsed_s
    known_share = total(intersect(timeline.known, elapsed)) / elapsed_s
    return compliance, _verdict(plan, compliance, known_share, config)


def derive_day(
    station: str, plan: DayPlan, obs: Sequence[Obs], config: RulesConfig, clock_faults: int = 0,
    until: float | None = None, losses: Sequence[Interval] = (), backlog: Sequence[Interval] = (),
    unsequenced: Sequence[Obs] = (),
    behind: Sequence[Behind] = (), time_checks: int = 0, asked: Asked | None = None, *,
    steps: Sequence[Step] = (),
) -> DayResult:
    """Derive one day; `obs` sorted, from at least the door lookback before the day to its end. `until`: the time
    the data runs to (now, for today); None for a day that is over. `losses`: the windows in which the platform
    lost messages (any superset of those touching the door lookback before the day or the day); a day touching one,
    or open in its working hours only on a door state or presence carried across one, is flagged
    `platform_lost_messages`, its verdict unchanged: the flag tells a town the evidence is short by the platform's
    fault, every station's alike. `backlog`: the stretches of this station's outbox backlog that was being sent
    when one struck (`cloud.rules.losses.backlog_gaps`), judged like a window and flagged alike. `unsequenced`: the
    readings `cloud.rules.sequence` set aside (already left out of `obs`, judged over more than the day by
    `cloud.rules.station.derive_days`); those of the day flag it. `behind`: the day's answers to the cloud's time
    check stamped before it was asked (`cloud.rules.clock_check`): the day is then judged on nothing, flagged
    `clock_behind`. `time_checks`: how many answers to the time check the day holds, behind or not. `asked`: the
    day's checks asked while the station was heard live and those unanswered (`cloud.rules.unanswered`); a day with
    none answered, flagged there, is judged on nothing too, flagged `clock_unanswered`. `steps`: the station's clock
    stepped within one boot in the day (`cloud.rules.clock_steps`): judged alike, flagged `clock_stepped`."""
    asked = asked or Asked()
    if behind or asked.flagged or steps:
        # When the clock went behind is not known: no reading of the day can be placed in time, nor can a door state
        # carried into it. Unknown, never open: its hours are owed, and a spot check in it needs an inspector.
        obs, unsequenced = [], []
    # A reading published again under a new event id (a replay, a doctored agent) counts once: otherwise a station
    # could double its counts, and with them the crossings that corroborate faces, by re-sending them.
    obs, repeats = distinct_readings(obs)
    repeated = sum(1 for o in repeats if plan.start <= o.t < plan.end)
    # Evidence held back while the station was heard live and sent after the fact does not count (cloud.rules.late).
    # What the sequence rule set aside already is judged too: held back for a moment heard live, it is both.
    if unsequenced:
        unfit = {o.id for o in unsequenced}
        obs, held_back = withheld(sorted([*obs, *unsequenced], key=sort_key), config)
        obs = [o for o in obs if o.id not in unfit]
    else:
        obs, held_back = withheld(obs, config)
    late_n = sum(1 for o in held_back if plan.start <= o.t < plan.end)
    unfit_n = sum(1 for o in unsequenced if plan.start <= o.t < plan.end)
    timeline = build_timeline(plan, obs, config, merge([*losses, *backlog]) if backlog else losses)
    sched = merge(plan.sessions)
    scheduled_s = float(total(sched))
    known = intersect(timeline.known, sched)
    opened = intersect(timeline.open, sched)
    known_s, open_s = total(known), total(opened)
    closed_s = known_s - open_s
    unknown_s = scheduled_s - known_s
    open_share = open_s / known_s if known_s > 0 else None
    known_share = known_s / scheduled_s if scheduled_s > 0 else None
    # Compliance is the open share of the SCHEDULED minutes: unknown minutes are never open, so switching the
    # equipment off after a good morning cannot raise it. An approved closure owes nothing: all its scheduled minutes
    # count as served (1.0), so it never lowers compliance.
    compliance: float | None = open_s / scheduled_s if scheduled_s > 0 else None
    if plan.excused is not None and scheduled_s > 0:
        compliance = 1.0
    late, early = _late_early(plan.sessions, timeline.known, timeline.open)
    result_visitors = visitors(obs, plan.start, plan.end, config)
    notes = []
    if late_n:
        notes.append(f"{late_n} events received more than {config.late_delivery_minutes:g} min after their time, "
                     "for moments the station was heard live, set aside")
    if unfit_n:
        notes.append(f"{unfit_n} readings received more than {config.late_delivery_minutes:g} min after their time, "
                     "whose device sequence numbers contradict their time against the readings heard live around "
                     "them, set aside")
    if repeated:
        notes.append(f"{repeated} readings repeated under other event ids (same device, time and value) counted once")
    if behind:
        worst = max(behind, key=lambda b: b.seconds)
        notes.append(f"the station's clock was found behind {len(behind)} time(s), by up to "
                     f"{worst.seconds / 60:.0f} min (asked at {_utc(worst.asked)}, answered with "
                     f"{_utc(worst.answered)}): the day's readings cannot be placed in time and count nowhere")
    if asked.flagged:
        notes.append(f"the station answered none of the cloud's time checks: {asked.unanswered_n} asked while it was "
                     "heard live went unanswered (its clock may be behind): the day's readings cannot be placed in "
                     "time and count nowhere")
    for step in steps:
        notes.append(f"the station's clock was {describe(step)} (heartbeats stamped {_utc(step.before)} and "
                     f"{_utc(step.after)}): the day's readings cannot be placed in time and count nowhere")
    if plan.working is None:
        notes.append(plan.national.name or "calendar unknown")
        compliance = None
    so_far, verdict_so_far = _so_far(plan, sched, timeline, until, config)
    off = equipment_off(plan, timeline, until, config, [*losses, *backlog])
    judged = bool(plan.working) and plan.excused is None
    idle = door_idle_sessions(plan, timeline, obs, result_visitors, until) if judged else []
    unbacked = faces_unbacked_sessions(plan, timeline, obs, config, until) if judged else []
    balance = (result_visitors.entries - result_visitors.exits) if result_visitors.has_counter else None
    flags = []
    if off:
        flags.append(FLAG_EQUIPMENT_OFF)
    if balance:
        flags.append(FLAG_COUNTS_UNBALANCED)
    if idle:
        flags.append(FLAG_DOOR_IDLE)
    if unbacked:
        flags.append(FLAG_FACES_UNBACKED)
    flags.extend(face_flags(result_visitors, config))
    if repeated:
        flags.append(FLAG_READINGS_REPEATED)
    if late_n:
        flags.append(FLAG_LATE_EVIDENCE)
    if unfit_n:
        flags.append(FLAG_OUT_OF_SEQUENCE)
    if behind:
        flags.append(FLAG_CLOCK_BEHIND)
    if asked.flagged:
        flags.append(FLAG_CLOCK_UNANSWERED)
    if steps:
        flags.append(FLAG_CLOCK_STEPPED)
    lost = overlapping(losses, plan.start, plan.end)
    backlog_lost = overlapping(backlog, plan.start, plan.end)
    unconfirmed = intersect(timeline.open_unconfirmed, sched)
    if unconfirmed:
        # The window that cast the doubt may lie before the day (a door left open over the evening before).
        before = plan.start - config.door_lookback_hours * 3600
        lost = merge([*lost, *overlapping(losses, before, unconfirmed[0][0])])
        backlog_lost = merge([*backlog_lost, *overlapping(backlog, before, unconfirmed[0][0])])
    if lost or backlog_lost:
        flags.append(FLAG_PLATFORM_LOST)
    return DayResult(
        station=station,
        plan=plan,
        timeline=timeline,
        verdict=_verdict(plan, compliance, known_share, config),
        compliance=compliance if sched else None,
        open_share=open_share if sched else None,
        scheduled_s=scheduled_s,
        open_s=open_s,
        closed_s=closed_s,
        unknown_s=unknown_s,
        late_open_s=late,
        early_close_s=early,
        visitors=result_visitors,
        known_share=known_share,
        equipment_off=off,
        door_idle=idle,
        faces_unbacked=unbacked,
        count_balance=balance,
        compliance_so_far=so_far,
        verdict_so_far=verdict_so_far,
        flags=flags,
        clock_faults=clock_faults,
        notes=notes,
        platform_lost=lost,
        backlog_lost=backlog_lost,
        until=until,
        clock_behind=list(behind),
        time_checks=time_checks,
        asked=asked,
        clock_steps=list(steps),
    )


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


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
