"""Alert rules: what should be raised, escalated or resolved, with deterministic cause keys (one alert per cause)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, hhmm
from cloud.rules.intervals import intersect, merge, subtract
from cloud.rules.observations import Obs

# Kinds and levels as stored in the alerts table (cloud.store.models.AlertKind / AlertLevel values).
EMERGENCY_CALL = "emergency_call"
SPOT_CHECK_CLOSED = "spot_check_closed"
SPOT_CHECK_UNVERIFIABLE = "spot_check_unverifiable"
STATION_OFFLINE = "station_offline"
SENSOR_ANOMALY = "sensor_anomaly"
EQUIPMENT_OFF = "equipment_off"


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """An alert the rules say should exist; `cause_key` identifies its cause, so raising it twice is a no-op. A
    home-care alert has no station: it names the `town` it goes to."""

    kind: str
    station: str | None
    cause_key: str
    level: str
    raised_at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    call_id: str | None = None
    town: str | None = None


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def call_key(station: str, call: str) -> str:
    return f"call:{station}:{call}"


def spot_check_key(plan_id: int, station: str) -> str:
    return f"spot:{plan_id}:{station}"


def offline_key(station: str, day: str) -> str:
    return f"offline:{station}:{day}"


def anomaly_key(what: str, station: str, day: str) -> str:
    return f"anomaly:{what}:{station}:{day}"


def equipment_off_key(station: str, day: str) -> str:
    return f"equipment-off:{station}:{day}"


@dataclass(frozen=True, slots=True)
class CallState:
    """An emergency call as the events tell it: pressed when, cancelled by the elder when (if)."""

    station: str
    call: str
    device: str
    pressed_at: datetime
    cancelled_at: datetime | None


def calls(station: str, obs: Sequence[Obs]) -> list[CallState]:
    """Every call pressed in `obs` (sorted), with its cancel if one came."""
    pressed: dict[str, Obs] = {}
    cancelled: dict[str, float] = {}
    for o in obs:
        if o.kind != "call":
            continue
        if o.state == "pressed":
            pressed.setdefault(o.ref, o)
        elif o.state == "cancelled":
            cancelled.setdefault(o.ref, o.t)
    return [
        CallState(station, call, o.device, _dt(o.t), _dt(cancelled[call]) if call in cancelled else None)
        for call, o in sorted(pressed.items(), key=lambda item: (item[1].t, item[0]))
    ]


def call_alert(state: CallState) -> AlertSpec:
    return AlertSpec(EMERGENCY_CALL, state.station, call_key(state.station, state.call), "station",
                     state.pressed_at, {"device": state.device, "pressed_at": state.pressed_at.isoformat()},
                     call_id=state.call)


def escalation_due(status: str, level: str, raised_at: datetime, now: datetime, config: RulesConfig) -> bool:
    """An emergency call still unacknowledged at station level after `call_escalate_minutes` goes to town and
    dispatch."""
    return (status == "raised" and level == "station"
            and now - raised_at >= timedelta(minutes=config.call_escalate_minutes))


def offline_alert(result: DayResult, config: RulesConfig, now: float | None = None) -> AlertSpec | None:
    """The station offline for `offline_alert_minutes` at a stretch during its working hours that day (up to `now`:
    the rest of today is not offline, just not yet)."""
    if not result.plan.working or result.plan.excused is not None:
        return None
    sessions = merge(result.plan.sessions)
    if now is not None:
        sessions = intersect(sessions, [(float(result.plan.start), now)])
    gaps = subtract(sessions, result.timeline.known)
    long = [(s, e) for s, e in gaps if e - s >= config.offline_alert_minutes * 60]
    if not long:
        return None
    day = result.plan.day.isoformat()
    return AlertSpec(STATION_OFFLINE, result.station, offline_key(result.station, day), "town", _dt(long[0][0]),
                     {"date": day, "offline": [[_dt(s).isoformat(), _dt(e).isoformat()] for s, e in long]})


def equipment_off_alert(result: DayResult, timezone: str) -> AlertSpec | None:
    """The day's unknown stretches in working hours after the station was seen (its own equipment off, since the
    agent stores and forwards through network outages): a town alert with the spans as evidence."""
    if not result.equipment_off:
        return None
    day = result.plan.day.isoformat()
    zone = ZoneInfo(timezone)
    minutes = round(sum(e - s for s, e in result.equipment_off) / 60)
    return AlertSpec(EQUIPMENT_OFF, result.station, equipment_off_key(result.station, day), "town",
                     _dt(result.equipment_off[0][0]),
                     {"date": day, "off": hhmm(result.equipment_off, zone), "minutes": minutes,
                      "what": "equipment off in working hours after the station was seen that day"})


def offline_now(station: str, sessions: Sequence[tuple[int, int]], last_seen: float | None, now: float,
                config: RulesConfig) -> bool:
    """Live check: inside a working session and nothing heard for `offline_alert_minutes`."""
    in_session = any(s <= now < e for s, e in sessions)
    threshold = config.offline_alert_minutes * 60
    return in_session and (last_seen is None or now - last_seen >= threshold) and any(
        now - s >= threshold for s, e in sessions if s <= now < e)


def _door_closed_entries(result: DayResult, obs: Sequence[Obs], config: RulesConfig) -> dict[str, Any] | None:
    """Entries counted during a long stretch in which every door magnet reported closed."""
    if not any(o.kind == "door" for o in obs):
        return None  # no door magnet reporting: nothing to contradict
    day = [(float(result.plan.start), float(result.plan.end))]
    shut = subtract(day, result.timeline.door_open)
    for lo, hi in shut:
        if hi - lo < config.anomaly_door_closed_hours * 3600:
            continue
        entries = sum(o.entries for o in obs if o.kind == "flow" and lo <= o.t < hi)
        if entries >= config.anomaly_door_closed_entries:
            return {"what": "entries while the door reported closed", "door_closed_from": _dt(lo).isoformat(),
                    "door_closed_to": _dt(hi).isoformat(), "entries": entries}
    return None


def anomalies(result: DayResult, obs: Sequence[Obs], camera_expected: bool, config: RulesConfig) -> list[AlertSpec]:
    """Sensor anomalies of a day: a door stuck closed with entries, a counter stuck at zero while faces were seen,
    a silent camera on a day with entries. `camera_expected`: the station had a working camera recently."""
    day = result.plan.day.isoformat()
    v = result.visitors
    found: list[tuple[str, dict[str, Any]]] = []
    door = _door_closed_entries(result, obs, config)
    if door:
        found.append(("door-closed-entries", door))
    if v.has_counter and v.entries == 0 and v.face_visits >= config.anomaly_counter_zero_faces:
        found.append(("counter-zero", {"what": "people counter stuck at zero while faces were seen",
                                       "faces": v.face_visits}))
    if camera_expected and not v.has_camera and v.entries >= config.anomaly_camera_silent_entries:
        found.append(("camera-silent", {"what": "camera silent on a day with entries", "entries": v.entries}))
    at = _dt(result.plan.start)
    specs = [AlertSpec(SENSOR_ANOMALY, result.station, anomaly_key(what, result.station, day), "station", at,
                       {"date": day, **evidence}) for what, evidence in found]
    if result.door_idle:
        # A door propped open with nobody coming or going all session may be a station feigning opening: the town
        # sees it, not only the station.
        specs.append(AlertSpec(SENSOR_ANOMALY, result.station, anomaly_key("door-open-idle", result.station, day),
                               "town", _dt(result.door_idle[0][0]),
                               {"date": day, "what": "door open with no entry, exit or visitor's face all session",
                                "sessions": [[_dt(s).isoformat(), _dt(e).isoformat()] for s, e in result.door_idle]}))
    return specs
