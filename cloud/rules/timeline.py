"""A station's open / closed / unknown timeline for one local day, from its sensors.

- known: the agent was alive — any event, heartbeat or online status proves it for `liveness_minutes` (a flow count
  also for the period it covers), until an `online: false` status (the MQTT last will) cuts it short.
- open: the door is open, or there was activity (an entry, any face) in the last `activity_minutes`, or people counted
  in have not all left (at most `presence_minutes` after the last movement) — in winter the door may stay shut.
- Offline time is unknown, never closed: open and closed are both inside `known`.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from cloud.rules.calendar import DayPlan
from cloud.rules.config import RulesConfig
from cloud.rules.intervals import Interval, intersect, merge, subtract
from cloud.rules.observations import Obs


@dataclass(frozen=True, slots=True)
class Timeline:
    """Merged interval lists over the local day [plan.start, plan.end), epoch seconds."""

    known: list[Interval]
    open: list[Interval]  # inside known
    door_open: list[Interval]
    activity: list[Interval]
    offline_marks: int  # `online: false` statuses seen


def _door_open(obs: Sequence[Obs], start: float, end: float, lookback: float) -> list[Interval]:
    """Spans when any door magnet reported open (each device followed on its own; a fault ends an open span)."""
    spans: list[Interval] = []
    opened: dict[str, float] = {}
    for o in obs:
        if o.kind != "door" or o.t < start - lookback:
            continue
        if o.state == "open":
            opened.setdefault(o.device, o.t)
        elif o.device in opened:
            spans.append((opened.pop(o.device), o.t))
    spans.extend((t, end) for t in opened.values())
    return spans


def _presence(flows: Sequence[Obs], end: float, presence: float) -> list[Interval]:
    """Spans with people counted in and not out, each ending at most `presence` after the last movement."""
    spans: list[Interval] = []
    occupancy = 0
    seg_start: float | None = None
    last = 0.0
    for o in flows:
        if not (o.entries or o.exits):
            continue
        if seg_start is not None and o.t - last > presence:
            spans.append((seg_start, last + presence))
            seg_start = None
        occupancy = max(0, occupancy + o.entries - o.exits)
        if occupancy > 0 and seg_start is None:
            seg_start = o.t
        elif occupancy == 0 and seg_start is not None:
            spans.append((seg_start, o.t))
            seg_start = None
        last = o.t
    if seg_start is not None:
        spans.append((seg_start, min(end, last + presence)))
    return spans


def build_timeline(plan: DayPlan, obs: Sequence[Obs], config: RulesConfig) -> Timeline:
    """The day's timeline; `obs` sorted by `sort_key`, covering at least the day and the door lookback before it."""
    start, end = float(plan.start), float(plan.end)
    live = config.liveness_minutes * 60
    act = config.activity_minutes * 60
    evidence: list[Interval] = []
    activity: list[Interval] = []
    offline: list[float] = []
    flows: list[Obs] = []
    for o in obs:
        if o.t < start - live or o.t >= end:
            continue
        if o.kind == "status" and o.state == "offline":
            offline.append(o.t)
            continue
        if o.kind == "flow":
            evidence.append((o.t - o.period_s, o.t + live))
            if o.t >= start:
                flows.append(o)
            if o.entries:
                activity.append((o.t - o.period_s, o.t + act))
        else:
            evidence.append((o.t, o.t + live))
            if o.kind == "face":
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
    door = intersect(merge(_door_open(obs, start, end, config.door_lookback_hours * 3600)), day)
    activity_m = intersect(merge(activity), day)
    presence = _presence(flows, end, config.presence_minutes * 60)
    opened = intersect(merge([*door, *activity_m, *presence]), known)
    return Timeline(known, opened, door, activity_m, len(offline))
