"""One station-day: opening compliance, late opening / early closing, verdict, visitor counts and evidence."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from cloud.rules.calendar import DayPlan
from cloud.rules.config import RulesConfig
from cloud.rules.corroborate import Crossings, corroborate
from cloud.rules.intervals import Interval, covering, intersect, merge, subtract, total
from cloud.rules.late import withheld
from cloud.rules.losses import FLAG_PLATFORM_LOST, overlapping
from cloud.rules.observations import Obs, distinct_readings, sort_key
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
    when there is no counter); `elders` are the distinct enrolled elders (role `elder`) served: corroborated by a
    counter crossing (see `cloud.rules.corroborate`); `uncorroborated` the enrolled elders seen but not served;
    `unchecked` those seen only while no counter reported; `anonymous` the distinct faces not enrolled (role
    `unknown`); staff are neither."""

    entries: int
    exits: int
    staff_visits: int
    face_visits: int  # non-staff face observations
    person_times: int
    person_times_basis: str  # "counter" or "faces"
    elders: frozenset[str]
    anonymous: frozenset[str]
    has_counter: bool
    has_camera: bool
    uncorroborated: frozenset[str] = frozenset()
    unchecked: frozenset[str] = frozenset()


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


FLAG_EQUIPMENT_OFF = "equipment_off"
FLAG_COUNTS_UNBALANCED = "counts_unbalanced"
FLAG_DOOR_IDLE = "door_open_idle"
FLAG_FACES_UNCORROBORATED = "faces_uncorroborated"
FLAG_FACES_UNCHECKED = "faces_unchecked"
FLAG_READINGS_REPEATED = "readings_repeated"
FLAG_LATE_EVIDENCE = "late_evidence"
FLAG_OUT_OF_SEQUENCE = "readings_out_of_sequence"
FLAG_FACES_UNBACKED = "faces_unbacked"


def visitors(obs: Sequence[Obs], start: float, end: float, config: RulesConfig) -> Visitors:
    entries = exits = staff = faces = 0
    anonymous: set[str] = set()
    has_counter = has_camera = False
    for o in obs:
        if o.t < start or o.t >= end:
            continue
        if o.kind == "flow":
            has_counter = True
            entries += o.entries
            exits += o.exits
        elif o.kind == "face":
            has_camera = True
            if o.state == "staff":
                staff += 1
                continue
            faces += 1
            # Only a face the station enrolled as an elder is an elder served; any other face is an anonymous
            # visitor (it may be a passer-by, a relative, or the same stranger under a fresh id). An empty id was
            # blanked by retention: still a visit, no longer a known person.
            if o.ref and o.state != "elder":
                anonymous.add(o.ref)
    # An elder's face counts only with a counter crossing to back it: a photograph held up to the camera has none.
    checked = corroborate(obs, start, end, config)
    if has_counter:
        # Staff walk through the counter too; the camera knows them, so their entries are taken off.
        return Visitors(entries, exits, staff, faces, max(0, entries - staff), "counter", checked.served,
                        frozenset(anonymous), True, has_camera, checked.uncorroborated, checked.unchecked)
    return Visitors(0, 0, staff, faces, faces, "faces", checked.served, frozenset(anonymous), False, has_camera,
                    checked.uncorroborated, checked.unchecked)


def face_flags(v: Visitors, config: RulesConfig) -> list[str]:
    """`faces_uncorroborated`: at least `faces_uncorroborated_alert` elders seen and not served for want of a
    crossing; `faces_unchecked`: elders counted although no counter reported when they were seen (only with
    `count_faces_without_counter`)."""
    flags = []
    if len(v.uncorroborated) >= config.faces_uncorroborated_alert:
        flags.append(FLAG_FACES_UNCORROBORATED)
    if v.unchecked & v.elders:
        flags.append(FLAG_FACES_UNCHECKED)
    return flags


def _movement(obs: Sequence[Obs], lo: float, hi: float) -> bool:
    """Anyone counted in or out, or a visitor's face, in [lo, hi)."""
    return any(lo <= o.t < hi and ((o.kind == "flow" and (o.entries or o.exits))
                                   or (o.kind == "face" and o.state != "staff")) for o in obs)


def ended_sessions(plan: DayPlan, until: float | None) -> list[Interval]:
    """The day's sessions over by `until` (all of them for a day that is over): a rule about a whole session judges
    only those. A session still running, or to come, has not shown yet whether anybody came: the door state is
    carried to the end of the day, so judging it would flag this afternoon, and alert the town, at 08:45."""
    return [(s, e) for s, e in merge(plan.sessions) if until is None or e <= until]


def door_idle_sessions(plan: DayPlan, timeline: Timeline, obs: Sequence[Obs], v: Visitors,
                       until: float | None = None) -> list[Interval]:
    """Sessions over by `until` with the door open for at least half of them and no entry, exit or visitor's face all
    session: the door proves nothing on its own then. Only judged when a counter or camera reported that day (a
    door-only station never has movement to show)."""
    if not (v.has_counter or v.has_camera):
        return []
    out: list[Interval] = []
    for s, e in ended_sessions(plan, until):
        door = total(intersect(timeline.door_open, [(s, e)]))
        if door >= 0.5 * (e - s) and not _movement(obs, s, e):
            out.append((s, e))
    return out


def faces_unbacked_sessions(plan: DayPlan, timeline: Timeline, obs: Sequence[Obs],
                            config: RulesConfig, until: float | None = None) -> list[Interval]:
    """Sessions open for at least half of them only by visitors' faces that no counter crossing backs (none within
    `face_crossing_window_s`): a screen or a poster of faces before the camera with the door shut, or the counter
    off. A real visitor walks through the door the counter watches. The minutes still count as open (a counter stuck
    at zero in winter looks the same), but the day is flagged."""
    faces: list[float] = []
    crossings: list[Obs] = []
    for o in obs:
        if o.kind == "flow":
            if o.entries or o.exits:
                crossings.append(o)
        elif o.kind == "face" and o.state != "staff" and plan.start <= o.t < plan.end:
            faces.append(o.t)
    if not faces:
        return []
    near = Crossings(crossings, config.face_crossing_window_s).near

    def crossed(t: float) -> bool:
        return bool(near(t))

    act = config.activity_minutes * 60
    unbacked = [(t, t + act) for t in faces if not crossed(t)]
    if not unbacked:
        return []  # every visitor's face has a crossing behind it (an honest day)
    backed = [(t, t + act) for t in faces if crossed(t)]
    entries = [(o.t - o.period_s, o.t + act) for o in crossings if o.entries]
    other = merge([*timeline.door_open, *timeline.presence, *entries, *backed])
    only = subtract(intersect(merge(unbacked), timeline.open), other)
    return [(s, e) for s, e in ended_sessions(plan, until) if total(intersect(only, [(s, e)])) >= 0.5 * (e - s)]


def equipment_off(plan: DayPlan, timeline: Timeline, until: float | None, config: RulesConfig,
                  lost: Sequence[Interval] = ()) -> list[Interval]:
    """Unknown stretches inside the sessions after the station was first seen that day (up to `until`: the rest of
    today is not off, just not yet), each at least `equipment_off_minutes` long. The agent stores and forwards
    through network outages, so such a stretch means the station's own equipment was off, unless the platform lost
    the messages: the stretches `lost` (windows, and a backlog sent during one) are not the station's doing."""
    if not plan.working or plan.excused is not None or not timeline.known:
        return []
    first_seen = timeline.known[0][0]
    stop = float(plan.end) if until is None else min(float(plan.end), until)
    if stop <= first_seen:
        return []
    scope = intersect(merge(plan.sessions), [(first_seen, stop)])
    unknown = subtract(scope, timeline.known)
    if lost:
        unknown = subtract(unknown, merge(lost))
    return [(s, e) for s, e in unknown if e - s >= config.equipment_off_minutes * 60]


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
) -> DayResult:
    """Derive one day; `obs` sorted, from at least the door lookback before the day to its end. `until`: the time
    the data runs to (now, for today); None for a day that is over. `losses`: the windows in which the platform
    lost messages (any superset of those touching the door lookback before the day or the day); a day touching one,
    or open in its working hours only on a door state or presence carried across one, is flagged
    `platform_lost_messages`, its verdict unchanged: the flag tells a town the evidence is short by the platform's
    fault, every station's alike. `backlog`: the stretches of this station's outbox backlog that was being sent
    when one struck (`cloud.rules.losses.backlog_gaps`), judged like a window and flagged alike. `unsequenced`: the
    readings `cloud.rules.sequence` set aside (already left out of `obs`, judged over more than the day by
    `cloud.rules.station.derive_days`); those of the day flag it."""
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
