"""Sessions of a day the sensors cannot vouch for: the door open with nobody moving, open only by faces no counter
crossing backs, and unknown stretches that mean the station's own equipment was off. Pure."""

from collections.abc import Sequence

from cloud.rules.calendar import DayPlan
from cloud.rules.config import RulesConfig
from cloud.rules.corroborate import Crossings
from cloud.rules.intervals import Interval, intersect, merge, subtract, total
from cloud.rules.observations import Obs
from cloud.rules.timeline import Timeline
from cloud.rules.visitors import Visitors


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
