"""Alert rules: what should be raised, escalated or resolved, with deterministic cause keys (one alert per cause)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cloud.alerts.keys import anomaly_key, call_key, equipment_off_key, offline_key, spot_check_key
from cloud.alerts.kinds import AlertKind, AlertLevel, AlertSpec, AlertStatus
from cloud.rules.clock_steps import describe as describe_step
from cloud.rules.config import RulesConfig
from cloud.rules.day import FLAG_LATE_EVIDENCE, FLAG_OUT_OF_SEQUENCE, FLAG_READINGS_REPEATED, DayResult, hhmm
from cloud.rules.intervals import Interval, intersect, merge, subtract, total
from cloud.rules.observations import Obs
from cloud.rules.session_flags import ended_sessions
from cloud.rules.spotcheck import SpotResult
from cloud.rules.visitors import FLAG_FACES_UNCHECKED, FLAG_FACES_UNCORROBORATED


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


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
    return AlertSpec(AlertKind.EMERGENCY_CALL, state.station, call_key(state.station, state.call),
                     AlertLevel.STATION, state.pressed_at,
                     {"device": state.device, "pressed_at": state.pressed_at.isoformat()}, call_id=state.call)


def pressed_alert(station: str, call: str, device: str, event_id: str, ts: datetime, received_at: datetime,
                  clock_fault: str | None, now: datetime) -> AlertSpec:
    """The alert of an emergency press as it arrives: raised on receipt, at the station, with the event as evidence
    (the worker's `call_alert` of the same call is the same alert, by its cause key)."""
    return AlertSpec(AlertKind.EMERGENCY_CALL, station, call_key(station, call), AlertLevel.STATION, now,
                     {"event_id": event_id, "device": device, "ts": ts.isoformat(),
                      "received_at": received_at.isoformat(), "clock_fault": clock_fault}, call_id=call)


def escalation_due(status: str, level: str, raised_at: datetime, now: datetime, config: RulesConfig) -> bool:
    """An emergency call still unacknowledged at station level after `call_escalate_minutes` goes to town and
    dispatch."""
    return (status == AlertStatus.RAISED and level == AlertLevel.STATION
            and now - raised_at >= timedelta(minutes=config.call_escalate_minutes))


def escalation_note(config: RulesConfig) -> str:
    return (f"escalated to the town and the dispatch centre: not acknowledged in {config.call_escalate_minutes:g} "
            "min")


def spot_check_alert(plan_id: int, station: str, result: SpotResult, record: dict[str, Any],
                     now: datetime) -> AlertSpec | None:
    """A fail or an unverifiable spot check alerts the town (the record as evidence); a pass, nothing."""
    kinds = {SpotResult.FAIL: AlertKind.SPOT_CHECK_CLOSED, SpotResult.UNVERIFIABLE: AlertKind.SPOT_CHECK_UNVERIFIABLE}
    kind = kinds.get(result)
    if kind is None:
        return None
    return AlertSpec(kind, station, spot_check_key(plan_id, station), AlertLevel.TOWN, now, record)


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
    return AlertSpec(AlertKind.STATION_OFFLINE, result.station, offline_key(result.station, day), AlertLevel.TOWN,
                     _dt(long[0][0]),
                     {"date": day, "offline": [[_dt(s).isoformat(), _dt(e).isoformat()] for s, e in long]})


def equipment_off_alert(result: DayResult, timezone: str) -> AlertSpec | None:
    """The day's unknown stretches in working hours after the station was seen (its own equipment off, since the
    agent stores and forwards through network outages): a town alert with the spans as evidence."""
    if not result.equipment_off:
        return None
    day = result.plan.day.isoformat()
    zone = ZoneInfo(timezone)
    minutes = round(sum(e - s for s, e in result.equipment_off) / 60)
    return AlertSpec(AlertKind.EQUIPMENT_OFF, result.station, equipment_off_key(result.station, day), AlertLevel.TOWN,
                     _dt(result.equipment_off[0][0]),
                     {"date": day, "off": hhmm(result.equipment_off, zone), "minutes": minutes,
                      "what": "equipment off in working hours after the station was seen that day"})


def live_offline_alert(station: str, day: str, now: datetime, last_seen: datetime | None) -> AlertSpec:
    """The live check's alert (see `offline_now`): the station silent in working hours now."""
    return AlertSpec(AlertKind.STATION_OFFLINE, station, offline_key(station, day), AlertLevel.TOWN, now,
                     {"date": day, "last_seen": last_seen.isoformat() if last_seen else None})


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


def _door_unwatched(result: DayResult, watched: bool) -> list[Interval]:
    """Sessions over (by the day's `until`) with the door open for at least half of them on a day neither the people
    counter nor the camera reported, although one of them worked in the week before (`watched`): the door alone made
    them open. (With either reporting, the door-open-idle rule judges them.) A session still running or to come is
    not judged: the door's state is carried to the day's end, and the counter may yet report."""
    v = result.visitors
    if not watched or v.has_camera or v.has_counter or not result.plan.working or result.plan.excused:
        return []
    return [(s, e) for s, e in ended_sessions(result.plan, result.until)
            if total(intersect(result.timeline.door_open, [(s, e)])) >= 0.5 * (e - s)]


def _clock_behind_alert(result: DayResult, day: str) -> AlertSpec:
    """The town is told to go on site: a clock set behind (the station's own NTP server, or by hand) moves the whole
    day earlier, a late opening on time; the day counts nowhere until an inspector's record or a fixed clock."""
    worst = max(result.clock_behind, key=lambda b: b.seconds)
    return AlertSpec(AlertKind.SENSOR_ANOMALY, result.station, anomaly_key("clock-behind", result.station, day),
                     AlertLevel.TOWN, _dt(result.clock_behind[0].asked),
                     {"date": day, "what": "the station's clock answered the cloud's time check with a time before "
                      "it was asked: the day's readings cannot be placed in time and count nowhere",
                      "checks_behind": len(result.clock_behind), "behind_minutes": round(worst.seconds / 60, 1),
                      "asked_at": _dt(worst.asked).isoformat(), "answered_with": _dt(worst.answered).isoformat()})


def _clock_unanswered_alert(result: DayResult, day: str) -> AlertSpec:
    """The town is told to go on site: a station that answers none of the cloud's time checks may have put its clock
    behind and stopped answering; the day counts nowhere, as one found behind."""
    unanswered = result.asked.unanswered or []
    return AlertSpec(AlertKind.SENSOR_ANOMALY, result.station, anomaly_key("clock-unanswered", result.station, day),
                     AlertLevel.TOWN, _dt(unanswered[0]),
                     {"date": day, "what": "the station answered none of the cloud's time checks sent while it was "
                      "heard live: its clock may be behind, so the day's readings count nowhere",
                      "checks_unanswered": len(unanswered), "checks_asked": result.asked.live,
                      "first_asked_at": _dt(unanswered[0]).isoformat(),
                      "last_asked_at": _dt(unanswered[-1]).isoformat()})


def _clock_stepped_alert(result: DayResult, day: str) -> AlertSpec:
    """The town is told to go on site: a clock stepped within one boot (set back while offline, set right before
    reconnecting) moves part of the day; the day counts nowhere until an inspector's record or a fixed clock."""
    worst = max(result.clock_steps, key=lambda s: abs(s.seconds))
    return AlertSpec(AlertKind.SENSOR_ANOMALY, result.station, anomaly_key("clock-stepped", result.station, day),
                     AlertLevel.TOWN, _dt(min(worst.before, worst.after)),
                     {"date": day, "what": f"the station's clock was {describe_step(worst)}: the day's readings "
                      "cannot be placed in time and count nowhere",
                      "steps": len(result.clock_steps), "step_minutes": round(worst.seconds / 60, 1),
                      "before": _dt(worst.before).isoformat(), "after": _dt(worst.after).isoformat(),
                      "before_boot_s": worst.before_boot_s, "after_boot_s": worst.after_boot_s})


def anomalies(result: DayResult, obs: Sequence[Obs], camera_expected: bool, config: RulesConfig,
              counter_expected: bool = False) -> list[AlertSpec]:
    """Sensor anomalies of a day: a door stuck closed with entries, a counter stuck at zero while faces were seen,
    a silent camera on a day with entries, elders' faces the counter does not corroborate. `camera_expected`: the
    station had a working camera recently. A day whose clock was found behind, stepped within one boot, or that
    answered none of the cloud's time checks has those anomalies only: its readings cannot be placed in time, so
    nothing else is judged on them."""
    day = result.plan.day.isoformat()
    clock = [*([_clock_behind_alert(result, day)] if result.clock_behind else []),
             *([_clock_stepped_alert(result, day)] if result.clock_steps else []),
             *([_clock_unanswered_alert(result, day)] if result.asked.flagged else [])]
    if clock:
        return clock
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
    specs = [AlertSpec(AlertKind.SENSOR_ANOMALY, result.station, anomaly_key(what, result.station, day),
                       AlertLevel.STATION, at, {"date": day, **evidence}) for what, evidence in found]
    if result.door_idle:
        # A door propped open with nobody coming or going all session may be a station feigning opening: the town
        # sees it, not only the station.
        specs.append(AlertSpec(AlertKind.SENSOR_ANOMALY, result.station,
                               anomaly_key("door-open-idle", result.station, day), AlertLevel.TOWN,
                               _dt(result.door_idle[0][0]),
                               {"date": day, "what": "door open with no entry, exit or visitor's face all session",
                                "sessions": [[_dt(s).isoformat(), _dt(e).isoformat()] for s, e in result.door_idle]}))
    if unwatched := _door_unwatched(result, camera_expected or counter_expected):
        # A door magnet proves nothing about people: a station that silences its counter and camera (unplugged, or
        # their drivers stopped) and props the door open would otherwise have an open day with no flag at all.
        specs.append(AlertSpec(AlertKind.SENSOR_ANOMALY, result.station,
                               anomaly_key("door-unwatched", result.station, day), AlertLevel.TOWN,
                               _dt(unwatched[0][0]),
                               {"date": day, "what": "door open while the people counter and the camera (one of "
                                "which worked in the week before) reported nothing",
                                "sessions": [[_dt(s).isoformat(), _dt(e).isoformat()] for s, e in unwatched]}))
    if result.faces_unbacked:
        # Visitors' faces with no counter crossing behind them kept the station open: a screen or a poster of faces
        # before the camera with the door shut looks like this (so does a counter stuck at zero in winter).
        specs.append(AlertSpec(AlertKind.SENSOR_ANOMALY, result.station,
                               anomaly_key("faces-unbacked", result.station, day), AlertLevel.TOWN,
                               _dt(result.faces_unbacked[0][0]),
                               {"date": day, "what": "open only by visitors' faces with no people-counter crossing",
                                "sessions": [[_dt(s).isoformat(), _dt(e).isoformat()]
                                             for s, e in result.faces_unbacked]}))
    if FLAG_READINGS_REPEATED in result.flags:
        # The same reading under another event id is a replay tool or a doctored agent: counted once, and the town
        # is told.
        specs.append(AlertSpec(AlertKind.SENSOR_ANOMALY, result.station,
                               anomaly_key("readings-repeated", result.station, day), AlertLevel.TOWN, at,
                               {"date": day, "what": "readings repeated under other event ids, counted once",
                                "notes": [n for n in result.notes if "repeated" in n]}))
    if FLAG_LATE_EVIDENCE in result.flags:
        # Evidence a connected agent held back and sent after the fact (a judged day being filled in): set aside,
        # and the town is told.
        specs.append(AlertSpec(AlertKind.SENSOR_ANOMALY, result.station,
                               anomaly_key("late-evidence", result.station, day), AlertLevel.TOWN, at,
                               {"date": day, "what": "events sent long after their time, for moments the station "
                                "was heard live: set aside", "notes": [n for n in result.notes if "set aside" in n]}))
    if FLAG_OUT_OF_SEQUENCE in result.flags:
        # Readings sent after the fact whose device sequence numbers do not fit between those heard live around them:
        # a day fabricated and published as if it were an outage's replay. Set aside, and the town is told.
        specs.append(AlertSpec(AlertKind.SENSOR_ANOMALY, result.station,
                               anomaly_key("readings-out-of-sequence", result.station, day), AlertLevel.TOWN, at,
                               {"date": day, "what": "readings sent long after their time whose device sequence "
                                "numbers contradict their time: set aside",
                                "notes": [n for n in result.notes if "sequence" in n]}))
    if FLAG_FACES_UNCORROBORATED in result.flags or FLAG_FACES_UNCHECKED in result.flags:
        # Faces with no crossing behind them may be photographs held up to the camera; elders counted with no
        # counter reporting could be. Either is the town's to look at, not only the station's.
        specs.append(AlertSpec(AlertKind.SENSOR_ANOMALY, result.station,
                               anomaly_key("faces-uncorroborated", result.station, day), AlertLevel.TOWN, at,
                               {"date": day, "what": "enrolled elders' faces with no people-counter crossing",
                                "uncorroborated": len(v.uncorroborated),
                                # seen while no counter reported (counted or not, by count_faces_without_counter)
                                "unchecked": len(v.unchecked), "counted_unchecked": len(v.unchecked & v.elders),
                                "served": len(v.elders), "crossings": v.entries + v.exits,
                                "window_s": config.face_crossing_window_s}))
    return specs
