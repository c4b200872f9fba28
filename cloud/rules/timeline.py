"""A station's open / closed / unknown timeline for one local day, from its sensors.

- known: the agent was alive — any event, heartbeat or online status proves it for `liveness_minutes` (a flow count
  also for the period it covers), until an `online: false` status (the MQTT last will) cuts it short.
- open: the door is open, or there was public activity (an entry, a visitor's face) in the last `activity_minutes`,
  or visitors counted in have not been counted out — in winter the door may stay shut. Staff faces are not activity.
- Presence lasts until the people are counted out or the session ends: at each session's closing time the counter is
  reconciled (anyone still counted in is taken as gone), so a counter that misses exits cannot keep a station open
  past its session. Staff seen by the camera are taken off the count.
- Offline time is unknown, never closed: open and closed are both inside `known`. A gap in the evidence shorter than
  `equipment_off_minutes` between two known stretches is known (an outage that short is not one), so every unknown
  stretch after the station was first seen is long enough to be flagged as its equipment off.
- A door state or a presence carried across a window in which the platform lost messages rests on a message from
  before it (the "closed" or the exits that ended it may be among the lost): those open minutes, unless activity shows
  them open, are `open_unconfirmed`. They stay open in the timeline (the day is what the received data show, and is
  flagged); a spot check does not count them (cloud.rules.spotcheck).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from cloud.rules.calendar import DayPlan
from cloud.rules.config import RulesConfig
from cloud.rules.intervals import Interval, close_gaps, intersect, merge, subtract
from cloud.rules.losses import trusted
from cloud.rules.observations import Obs

STAFF = "staff"


@dataclass(frozen=True, slots=True)
class Timeline:
    """Merged interval lists over the local day [plan.start, plan.end), epoch seconds."""

    known: list[Interval]
    open: list[Interval]  # inside known
    door_open: list[Interval]
    activity: list[Interval]
    offline_marks: int  # `online: false` statuses seen
    presence: list[Interval]  # visitors counted in and not yet out (reconciled at each session's end)
    reconciled: int  # people still counted in at closing times, taken as gone: the counter's drift
    # open only by a door state or presence set before a loss window and not since confirmed (inside `open`)
    open_unconfirmed: list[Interval] = field(default_factory=list)


def _door_open(obs: Sequence[Obs], start: float, end: float, lookback: float) -> list[Interval]:
    """Spans when any door magnet reported open (each device followed on its own; a fault ends an open span). An
    "open" while already open starts a new span from it: it confirms the state afresh (the "closed" between the two
    was lost), which `trusted` needs to tell."""
    spans: list[Interval] = []
    opened: dict[str, float] = {}
    for o in obs:
        if o.kind != "door" or o.t < start - lookback:
            continue
        if o.state == "open":
            if o.device in opened:
                spans.append((opened[o.device], o.t))
            opened[o.device] = o.t
        elif o.device in opened:
            spans.append((opened.pop(o.device), o.t))
    spans.extend((t, end) for t in opened.values())
    return spans


def _presence(obs: Sequence[Obs], sessions: Sequence[tuple[int, int]], start: float,
              end: float) -> tuple[list[Interval], int]:
    """Spans with visitors counted in and not out, and how many were still in at closing times.

    The count runs over the day; at each session's end it is reconciled to zero. Distinct staff seen since the last
    reconciliation are taken off it (the counter cannot tell staff from visitors; the camera can)."""
    closings = sorted(e for _, e in sessions)
    spans: list[Interval] = []
    occupancy = 0
    staff: set[str] = set()
    seg_start: float | None = None
    reconciled = 0
    ci = 0

    def public() -> int:
        return max(0, occupancy - len(staff))

    for o in obs:
        if o.t < start or o.t >= end:
            continue
        while ci < len(closings) and closings[ci] <= o.t:
            if seg_start is not None:
                spans.append((seg_start, float(closings[ci])))
                seg_start = None
            reconciled += occupancy
            occupancy = 0
            staff.clear()
            ci += 1
        if o.kind == "flow" and (o.entries or o.exits):
            occupancy = max(0, occupancy + o.entries - o.exits)
        elif o.kind == "face" and o.state == STAFF:
            staff.add(o.ref)
        else:
            continue
        if public() > 0 and seg_start is None:
            seg_start = o.t
        elif public() == 0 and seg_start is not None:
            spans.append((seg_start, o.t))
            seg_start = None
    if ci < len(closings):
        if seg_start is not None:
            spans.append((seg_start, float(closings[ci])))
        reconciled += occupancy
    return spans, reconciled


def build_timeline(plan: DayPlan, obs: Sequence[Obs], config: RulesConfig,
                   losses: Sequence[Interval] = ()) -> Timeline:
    """The day's timeline; `obs` sorted by `sort_key`, covering at least the day and the door lookback before it.
    `losses`: the windows in which the platform lost messages, from the door lookback before the day on."""
    start, end = float(plan.start), float(plan.end)
    live = config.liveness_minutes * 60
    act = config.activity_minutes * 60
    evidence: list[Interval] = []
    activity: list[Interval] = []
    offline: list[float] = []
    for o in obs:
        if o.t < start - live or o.t >= end:
            continue
        if o.kind == "status" and o.state == "offline":
            offline.append(o.t)
            continue
        if o.kind == "flow":
            evidence.append((o.t - o.period_s, o.t + live))
            if o.entries:
                activity.append((o.t - o.period_s, o.t + act))
        else:
            evidence.append((o.t, o.t + live))
            if o.kind == "face" and o.state != STAFF:
                activity.append((o.t, o.t + act))
    day = [(start, end)]
    known = intersect(merge(evidence), day)
    if offline:
        # The last will says the agent went away: unknown from then until the next evidence after it.
        starts = sorted(s for s, _ in evidence)
        cuts = []
        for t in offline:
            nxt = next((s for s in starts if s > t), end)
            cuts.append((t, nxt))
        known = subtract(known, merge(cuts))
    # A gap in the evidence shorter than `equipment_off_minutes` between two known stretches is not an outage: the
    # door's state and the activity carry across it as they do anyway. Otherwise a station could send its heartbeats
    # just too seldom (or a last will every few minutes) for its closed day to be "known": every closed stretch cut
    # below the spot check's grace, the day `unknown`, and no gap long enough to be flagged as equipment off.
    known = close_gaps(known, config.equipment_off_minutes * 60)
    door_spans = _door_open(obs, start, end, config.door_lookback_hours * 3600)
    door = intersect(merge(door_spans), day)
    activity_m = intersect(merge(activity), day)
    presence, reconciled = _presence(obs, plan.sessions, start, end)
    presence_m = intersect(merge(presence), day)
    opened = intersect(merge([*door, *activity_m, *presence_m]), known)
    unconfirmed: list[Interval] = []
    if losses:
        confirmed = merge([*trusted(door_spans, losses), *activity_m, *trusted(presence, losses)])
        unconfirmed = subtract(opened, intersect(confirmed, day))
    return Timeline(known, opened, door, activity_m, len(offline), presence_m, reconciled, unconfirmed)
