"""Recomputing one station's days over the store: the worker's unit of work, a pure function of the stored events.

Everything derived from a day is rewritten from scratch (day row, its month, spot checks on it, the veto, the
alerts it implies), so late data and any arrival order give the same rows as a recompute from nothing. Each day is
judged by the station's hours in force on it and each month by the grade in force on its last day (the registry's
history, `station_history`), so re-deriving an old day after the bureau changed them gives the same verdict.
"""

from bisect import bisect_left
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cloud.alerts import apply, keys, service
from cloud.alerts.kinds import AlertKind
from cloud.derive.shared import month_line, month_span
from cloud.derive.storeio import (
    load_anchors,
    load_exceptions,
    load_losses,
    load_obs,
    neighbour_beats,
    neighbour_readings,
    upsert,
)
from cloud.derive.verdicts import judge_plans, store_veto
from cloud.rules import alerts as rules_alerts
from cloud.rules import sequence
from cloud.rules.calendar import PACKAGE, Calendar, days, plan_day
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult
from cloud.rules.observations import Obs, sort_key
from cloud.rules.records import DayRecord, day_record
from cloud.rules.schedules import ScheduleHistory
from cloud.rules.station import derive_days
from cloud.store import time_checks
from cloud.store.derived import DayResult as DayRow
from cloud.store.derived import MonthResult
from cloud.store.locks import hold_station_derivation
from cloud.store.models import Alert, Event, Station
from cloud.store.schedules import station_history

CAMERA_LOOKBACK = timedelta(days=7)


def runs(dates: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive dates grouped into (first, last) runs, so sparse late data does not load everything between."""
    out: list[tuple[date, date]] = []
    for d in sorted(set(dates)):
        if out and d - out[-1][1] == timedelta(days=1):
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


def derive_run(session: Session, station: Station, exceptions: dict[date, str], first: date, last: date,
               config: RulesConfig, calendar: Calendar = PACKAGE, now: datetime | None = None,
               history: ScheduleHistory | None = None) -> tuple[list[DayResult], list[Obs]]:
    """Derive the days `first`..`last`, each by the version of the station's schedule in force on it (`history`:
    loaded when not given)."""
    schedule = history or station_history(session, station)
    # What `derive_days` looks at: the liveness (or face-crossing) window before the days, counts just after them.
    window = config.face_crossing_window_s
    live = max(config.liveness_minutes * 60, window)
    start = plan_day(schedule.on(first).schedule, first).start
    end = plan_day(schedule.on(last).schedule, last).end
    obs, faults = load_obs(session, station.id, start - live, end + window + 1)
    if config.door_lookback_hours * 3600 > live:
        # Of the day before, only door states matter (a door left open at midnight): not a whole day of counts.
        doors, _ = load_obs(session, station.id, start - config.door_lookback_hours * 3600, start - live, ("door",))
        obs = doors + obs
    late = sequence.judged(obs, config)
    if late:
        # A reading received late must fit between its device's readings heard live around it: those just outside
        # what is loaded too (a day's fabricated numbers restarted below the day before's). Only for devices with a
        # late reading: nothing to look up in the common case.
        known = {o.id for o in obs}
        anchors = load_anchors(session, station.id, late, start - live, end + window + 1, config)
        obs = sorted([*obs, *(o for o in anchors if o.id not in known)], key=sort_key)
    until = now.timestamp() if now is not None else None
    # The platform's own losses of messages (every station's alike): a day touching one is flagged, and a spot check
    # touching one is not judged on the sensors; one in the door lookback before the days may have lost the "closed"
    # that ended a door state carried into them; one after them may have lost part of their backlog, sent late after
    # an outage, so its readings just outside the days are read too.
    losses = load_losses(session, start - config.door_lookback_hours * 3600, None)
    judged = obs
    if losses:
        ids = {o.id for o in obs}
        around = [o for o in neighbour_readings(session, station.id, start - live, end + window + 1) if o.id not in ids]
        judged = sorted([*obs, *around], key=sort_key)
    if any(o.boot for o in obs):
        # A step of the clock between the days' first (or last) heartbeat and the station's nearest outside them
        # flags the days (cloud.rules.clock_steps). Only when the days hold a heartbeat that could show one.
        ids = {o.id for o in judged}
        beats = [o for o in neighbour_beats(session, station.id, start - live, end + window + 1, start, end, config)
                 if o.id not in ids]
        judged = sorted([*judged, *beats], key=sort_key) if beats else judged
    # The time checks the cloud sent in the days: a station that answers none of them is judged on nothing.
    asked = time_checks.asks(session, station.id, start, end)
    return derive_days(station.id, schedule, exceptions, judged, first, last, config, faults, calendar=calendar,
                       until=until, losses=losses, asks=asked), obs


def store_days(session: Session, station: Station, results: list[DayResult], obs: list[Obs], config: RulesConfig,
               now: datetime) -> None:
    """Upsert the day rows and make the day-level alerts (calls, offline, anomalies) agree with them."""
    tz = station.timezone
    rows = []
    kept = _elders_of_blanked_days(session, station.id, results, obs)
    for result in results:
        record = day_record(result, tz)
        if result.plan.day in kept:
            elders, anonymous, uncorroborated, unchecked = kept[result.plan.day]
            elder_ids = sorted(set(record.elder_ids) | elders)
            anonymous_ids = sorted(set(record.anonymous_ids) | anonymous)
            not_served = sorted((set(record.uncorroborated_elder_ids) | uncorroborated) - set(elder_ids))
            unchecked_ids = sorted(set(record.unchecked_elder_ids) | unchecked)
            record = record.model_copy(update={"elder_ids": elder_ids, "elders": len(elder_ids),
                                               "anonymous_ids": anonymous_ids,
                                               "anonymous_visitors": len(anonymous_ids),
                                               "uncorroborated_elder_ids": not_served,
                                               "elders_uncorroborated": len(not_served),
                                               "unchecked_elder_ids": unchecked_ids,
                                               "elders_unchecked": len(unchecked_ids)})
        rows.append({"station_id": station.id, "local_date": result.plan.day, "working_day": result.plan.working,
                     "verdict": record.verdict.value, "compliance": record.compliance,
                     "person_times": record.person_times, "elders": record.elders,
                     "record": record.model_dump(mode="json"), "computed_at": now})
    upsert(session, DayRow.__table__, rows, ["station_id", "local_date"])  # type: ignore[arg-type]
    if not results:
        return
    # One query for the open day-level alerts of the station, not a few per day.
    open_alerts = {a.cause_key: a for a in service.find(
        session, [AlertKind.STATION_OFFLINE, AlertKind.SENSOR_ANOMALY, AlertKind.EQUIPMENT_OFF], station=station.id,
        lock=True)}
    times = [o.t for o in obs]
    faces = [o.t for o in obs if o.kind == "face"]
    counts = [o.t for o in obs if o.kind == "flow"]
    first = session.scalar(select(func.min(Event.ts)).where(Event.station_id == station.id))
    reporting_since = first.timestamp() if first is not None else None
    first_start = results[0].plan.start
    earlier: dict[str, bool] = {}

    def seen_before(kind: str) -> bool:
        if kind not in earlier:
            earlier[kind] = _seen_before(session, station.id, first_start, kind)
        return earlier[kind]

    for result in results:
        day_obs = obs[bisect_left(times, result.plan.start):bisect_left(times, result.plan.end)]
        since = result.plan.start - CAMERA_LOOKBACK.total_seconds()
        camera = bisect_left(faces, result.plan.end) > bisect_left(faces, since)
        if not camera and since < first_start:
            camera = seen_before("face")
        counter = bisect_left(counts, result.plan.end) > bisect_left(counts, since)
        if not counter and since < first_start:
            counter = seen_before("flow")
        _day_alerts(session, station, result, day_obs, camera, counter, open_alerts, config, now, reporting_since)


def _elders_of_blanked_days(session: Session, station: str, results: list[DayResult],
                            obs: list[Obs]) -> dict[date, tuple[set[str], set[str], set[str], set[str]]]:
    """The distinct elders served, anonymous visitors, elders not corroborated and elders unchecked stored for days
    whose face events retention has since blanked (their person ids are gone from the events, so a recompute after
    a late event keeps the ids the day was first derived with)."""
    times = [o.t for o in obs if o.kind == "face" and not o.ref]  # sorted, as obs are
    if not times:
        return {}
    blanked = [r.plan.day for r in results if bisect_left(times, r.plan.end) > bisect_left(times, r.plan.start)]
    if not blanked:
        return {}
    rows = session.execute(select(DayRow.local_date, DayRow.record).where(
        DayRow.station_id == station, DayRow.local_date.in_(blanked)))
    return {day: (set(record.get("elder_ids") or ()), set(record.get("anonymous_ids") or ()),
                  set(record.get("uncorroborated_elder_ids") or ()), set(record.get("unchecked_elder_ids") or ()))
            for day, record in rows}


def _seen_before(session: Session, station: str, start: int, kind: str) -> bool:
    """An event of `kind` in the week before `start` (epoch seconds): a face, the station has a camera that was
    working; a count, a people counter that was."""
    until = datetime.fromtimestamp(start, UTC)
    found = session.execute(select(Event.id).where(Event.station_id == station, Event.kind == kind,
                                                   Event.ts >= until - CAMERA_LOOKBACK, Event.ts < until)
                            .limit(1)).first()
    return found is not None


def _day_alerts(session: Session, station: Station, result: DayResult, obs: list[Obs], camera: bool, counter: bool,
                open_alerts: dict[str, Alert], config: RulesConfig, now: datetime,
                reporting_since: float | None) -> None:
    day = result.plan.day.isoformat()
    apply.calls(session, [(rules_alerts.call_alert(call), call.cancelled_at)
                          for call in rules_alerts.calls(station.id, obs)])
    found = rules_alerts.anomalies(result, obs, camera, config, counter_expected=counter)
    # Days before the station ever reported (not installed yet) are `unknown` in their verdict, not offline alerts:
    # one per silent day of a month filled in would bury the real ones. From its first event on, silence alerts.
    reporting = reporting_since is not None and result.plan.end > reporting_since
    offline = rules_alerts.offline_alert(result, config, now.timestamp()) if reporting else None
    off = rules_alerts.equipment_off_alert(result, station.timezone)
    keep = {spec.cause_key for spec in found}
    gone = [(key, "recomputed: the anomaly is no longer in the data") for key in open_alerts
            if keys.is_anomaly_of_day(key, station.id, day) and key not in keep]
    if offline is None:
        gone.append((keys.offline_key(station.id, day), "recomputed: no offline stretch in working hours"))
    if off is None:
        gone.append((keys.equipment_off_key(station.id, day), "recomputed: the data now covers the working hours"))
    apply.reconcile(session, open_alerts, [*found, *([offline] if offline else []), *([off] if off else [])], gone,
                    now)


def store_months(session: Session, station: Station, exceptions: dict[date, str], months: Iterable[date],
                 config: RulesConfig, now: datetime, calendar: Calendar = PACKAGE,
                 history: ScheduleHistory | None = None) -> None:
    """Recompute each month from its stored day rows (distinct elders are the union of the days' ids). Its working
    days are counted by the hours in force on each; its threshold is that of the grade in force on its last day (a
    month is one figure against one standard: a station regraded during it is held to its new grade for it). A day
    before `now`'s date is over, whatever its stored row says (one stored while it ran and not derived since)."""
    history = history or station_history(session, station)
    today = now.astimezone(ZoneInfo(station.timezone)).date()
    rows = []
    for month in sorted(set(months)):
        first, last = month_span(month)
        records = [DayRecord.model_validate(r) for (r,) in session.execute(
            select(DayRow.record).where(DayRow.station_id == station.id, DayRow.local_date >= first,
                                        DayRow.local_date <= last).order_by(DayRow.local_date))]
        if not records:
            continue
        as_of = records[-1].date
        version = history.on(last)
        line = month_line(station.id, version.grade, history, exceptions, first, records, as_of, config,
                          calendar, kind=version.kind, today=today)
        rows.append({"station_id": station.id, "month": line.month, "elders": line.elders,
                     "person_times": line.person_times, "threshold": line.threshold, "met": line.met,
                     "at_risk": line.at_risk, "compliance": line.compliance,
                     "record": line.model_dump(mode="json", by_alias=True), "computed_at": now})
    upsert(session, MonthResult.__table__, rows, ["station_id", "month"])  # type: ignore[arg-type]


def recompute_station(session: Session, station: Station, dates: Iterable[date], today: date, config: RulesConfig,
                      now: datetime, calendar: Calendar = PACKAGE) -> int:
    """Recompute the given days of a station (and the next day's door carry-over), their months, spot checks and
    veto, and the alerts they imply. Returns the number of days derived. The caller commits."""
    return len(recompute_station_days(session, station, dates, today, config, now, calendar))


def _backlog_days(session: Session, station: Station, derived: dict[date, DayResult]) -> set[date]:
    """The days before those derived that a stretch of lost backlog in them reaches, and whose stored result does not
    show it yet."""
    if not derived:
        return set()
    start = min(r.plan.start for r in derived.values())
    reach = min((s for r in derived.values() for s, _ in r.backlog_lost), default=start)
    if reach >= start:
        return set()
    zone = ZoneInfo(station.timezone)
    first = datetime.fromtimestamp(reach, zone).date()
    before = set(days(first, min(derived) - timedelta(days=1)))
    shown = {day for day, record in session.execute(select(DayRow.local_date, DayRow.record).where(
        DayRow.station_id == station.id, DayRow.local_date >= first, DayRow.local_date < min(derived)))
        if record.get("backlog_lost")}
    return before - shown


def _step_days(station: Station, derived: dict[date, DayResult], today: date) -> set[date]:
    """The days not derived that hold a heartbeat of a step of the clock found in those derived (a late heartbeat
    next to the day before's last: cloud.rules.clock_steps). Derived again whatever they show: their note names
    each step, as `cloud derive` gives it. Rare: only a day with a step at its edge has any."""
    zone = ZoneInfo(station.timezone)
    ends = {datetime.fromtimestamp(t, zone).date() for r in derived.values() for s in r.clock_steps
            for t in (s.before, s.after)}
    return {d for d in ends if d not in derived and d <= today}


def recompute_station_days(session: Session, station: Station, dates: Iterable[date], today: date,
                           config: RulesConfig, now: datetime, calendar: Calendar = PACKAGE) -> set[date]:
    """`recompute_station`, returning the days derived: the given ones up to today, plus the day after each (the
    door carry-over) and the days of their months never derived before."""
    hold_station_derivation(session, station.id)  # before any read: the results must be the freshest committed
    wanted = set(dates)
    wanted |= {d + timedelta(days=1) for d in wanted if d < today}
    # A month is judged on all its days so far: fill the days never derived (a silent station has no events).
    for month in {month_span(d)[0] for d in wanted}:
        first, last = month_span(month)
        last = min(last, today)
        have = set(session.execute(select(DayRow.local_date).where(
            DayRow.station_id == station.id, DayRow.local_date >= first, DayRow.local_date <= last)).scalars())
        wanted |= set(days(first, last)) - have if first <= last else set()
    wanted = {d for d in wanted if d <= today}
    exceptions = load_exceptions(session, station.id)
    history = station_history(session, station)
    derived: dict[date, DayResult] = {}
    for first, last in runs(wanted):
        results, obs = derive_run(session, station, exceptions, first, last, config, calendar, now, history)
        store_days(session, station, results, obs, config, now)
        derived.update({r.plan.day: r for r in results})
    # A backlog sent after an outage, part of it lost in a window, reaches back to days nobody marked: the window was
    # recorded, and the readings after it arrived, after they were last derived. Derive them once more now (their own
    # derivation reads the same stretch, and reaches no further back).
    for first, last in runs(_backlog_days(session, station, derived)):
        results, obs = derive_run(session, station, exceptions, first, last, config, calendar, now, history)
        store_days(session, station, results, obs, config, now)
        derived.update({r.plan.day: r for r in results})
    # A heartbeat received late may show the clock stepped since the day before's last (or, stamped by a clock set
    # back across midnight, since a day already derived): that day holds the step too, though nothing of it arrived.
    for first, last in runs(_step_days(station, derived, today)):
        results, obs = derive_run(session, station, exceptions, first, last, config, calendar, now, history)
        store_days(session, station, results, obs, config, now)
        derived.update({r.plan.day: r for r in results})
    store_months(session, station, exceptions, {month_span(d)[0] for d in derived}, config, now, calendar, history)
    if judge_plans(session, station, derived, config, now):
        store_veto(session, station.id, {d.year for d in derived}, config, now)
    return set(derived)

