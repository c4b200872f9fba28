"""The worker: passes over the store that recompute dirty station-days, judge due spot checks and run the alert
timers. Stations are partitioned by a stable hash so several workers can share the load. (Commands to stations are
published by their own process, `cloud.alerts.sender`.)"""

import logging
import time as clock
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from cloud.alerts import apply, service
from cloud.alerts.kinds import AlertKind, AlertLevel, AlertStatus
from cloud.derive import calendar_store
from cloud.derive.catchup import CatchUp
from cloud.derive.deployment import ConfigFileError
from cloud.derive.recompute import recompute_station
from cloud.derive.verdicts import window_end
from cloud.homecare.supervise import PassStats as HomecareStats
from cloud.homecare.supervise import homecare_pass
from cloud.rules import alerts as rules_alerts
from cloud.rules.calendar import PACKAGE, Calendar, plan_day
from cloud.rules.config import RulesConfig
from cloud.store.derived import DayResult as DayRow
from cloud.store.derived import SpotCheckPlan, SpotCheckResult
from cloud.store.models import Device, DirtyStationDay, Station, StationException
from cloud.store.retention import Purger, PurgeReport, Retention, first_kept_day

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Partition:
    """Part `index` (1-based) of `count`: the stations whose CRC-32 of the id, modulo count, is index - 1."""

    index: int = 1
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> "Partition":
        try:
            k, n = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"partition {text!r} must look like K/N, e.g. 1/3") from None
        if not 1 <= k <= n:
            raise ValueError(f"partition {text!r}: K must be between 1 and N")
        return cls(k, n)

    def owns(self, station: str) -> bool:
        return zlib.crc32(station.encode()) % self.count == self.index - 1


@dataclass
class PassStats:
    days: int = 0
    stations: int = 0
    errors: int = 0
    escalated: int = 0
    offline: int = 0
    marked: int = 0  # station-days marked for recompute by a calendar or closure change
    caught_up: int = 0  # days nothing marked since they ended (a silent station's), marked by the catch-up
    unknown_years: list[int] = field(default_factory=list)
    purged: PurgeReport | None = None
    messages: list[str] = field(default_factory=list)
    homecare: HomecareStats = field(default_factory=HomecareStats)


def local_today(station: Station, now: datetime) -> date:
    return now.astimezone(ZoneInfo(station.timezone)).date()


_DIRTY = cast(Table, DirtyStationDay.__table__)
_CLEAN = delete(_DIRTY).where(_DIRTY.c.station_id == bindparam("station"), _DIRTY.c.local_date == bindparam("day"),
                              _DIRTY.c.generation == bindparam("generation"))


def _recompute(factory: sessionmaker[Session], station_id: str, dates: set[date], generations: dict[date, int],
               config: RulesConfig, now: datetime, stats: PassStats, calendar: Calendar = PACKAGE) -> None:
    """One station in its own transaction: a failure is logged and counted, and the dirty rows stay for a retry."""
    with factory() as session:
        try:
            station = session.get(Station, station_id)
            if station is None:
                return
            today = local_today(station, now)
            stats.days += recompute_station(session, station, dates, today, config, now, calendar)
            # A day not begun here yet (a clock a little ahead) keeps its mark for when it is.
            done = [{"station": station_id, "day": day, "generation": generation}
                    for day, generation in sorted(generations.items()) if day <= today]
            if done:
                # Only if no event arrived meanwhile: a newer generation means recompute again next pass. One
                # statement for the station's days (executemany), not one per day.
                session.execute(_CLEAN, done)
            session.commit()
            stats.stations += 1
        except Exception as exc:
            # Whatever one station's stored data does (an OverflowError binding a count beyond 64 bits on SQLite),
            # the other stations are still derived: logged with its traceback, counted, its dirty rows kept.
            session.rollback()
            stats.errors += 1
            stats.messages.append(f"station {station_id}: {type(exc).__name__}: {exc}")
            log.exception("recompute of station %s failed: %s", station_id, exc)


def recompute_dirty(factory: sessionmaker[Session], partition: Partition, config: RulesConfig, now: datetime,
                    stats: PassStats, calendar: Calendar = PACKAGE, events_days: int | None = None) -> None:
    """Recompute the dirty station-days. With `events_days` (the raw events' retention), days before the first one
    whose raw events are all kept, counted in each station's zone, are final: a late replay must not re-derive them
    from the little left, so their marks are dropped instead."""
    with factory() as session:
        rows = session.execute(select(DirtyStationDay.station_id, DirtyStationDay.local_date,
                                      DirtyStationDay.generation)).all()
        if events_days is not None:
            zones = dict(session.execute(select(Station.id, Station.timezone)).tuples().all())
            kept_from = {zone: first_kept_day(now, events_days, zone) for zone in set(zones.values())}
            final = {(sid, day) for sid, day, _ in rows if day < kept_from[zones[sid]]}
            for sid, day in final:
                session.execute(delete(DirtyStationDay).where(DirtyStationDay.station_id == sid,
                                                              DirtyStationDay.local_date == day))
            if final:
                session.commit()
                rows = [row for row in rows if (row[0], row[1]) not in final]
    work: dict[str, dict[date, int]] = defaultdict(dict)
    for station_id, day, generation in rows:
        if partition.owns(station_id):
            work[station_id][day] = generation
    for station_id in sorted(work):
        _recompute(factory, station_id, set(work[station_id]), work[station_id], config, now, stats, calendar)


def fill_and_judge(factory: sessionmaker[Session], stations: list[str], config: RulesConfig, now: datetime,
                   stats: PassStats, calendar: Calendar = PACKAGE) -> None:
    """Days no event ever touched (a silent station still gets its `unknown` day) and spot checks due. A plan is
    judged whenever its window has ended and a station of it has no result yet, however old it is (the worker may
    have been stopped, a station's outbox may replay weeks late): the veto is judged over the whole year."""
    todo: dict[str, set[date]] = defaultdict(set)
    with factory() as session:
        latest = dict(session.execute(select(DayRow.station_id, func.max(DayRow.local_date))
                                      .group_by(DayRow.station_id)).tuples().all())
        zones = dict(session.execute(select(Station.id, Station.timezone)).tuples().all())
        for station_id in stations:
            today = now.astimezone(ZoneInfo(zones[station_id])).date()
            if latest.get(station_id) is None or latest[station_id] < today:
                todo[station_id].add(today)
        counts = dict(session.execute(select(SpotCheckResult.plan_id, func.count())
                                      .group_by(SpotCheckResult.plan_id)).tuples().all())
        plans = session.execute(select(SpotCheckPlan)).scalars().all()
        owned = set(stations)
        for plan in plans:
            if counts.get(plan.id, 0) >= len(plan.stations):
                continue  # every station judged: nothing to do (a recompute of the day re-judges it)
            judged = set(session.execute(select(SpotCheckResult.station_id)
                                         .where(SpotCheckResult.plan_id == plan.id)).scalars())
            for station_id in set(plan.stations) & owned - judged:
                if window_end(plan, zones[station_id]) <= now:
                    todo[station_id].add(plan.local_date)
    for station_id in sorted(todo):
        _recompute(factory, station_id, todo[station_id], {}, config, now, stats, calendar)


def escalate_calls(session: Session, stations: set[str], config: RulesConfig, now: datetime) -> int:
    """Emergency calls not acknowledged in time go from the station to its town and the dispatch centre."""
    count = 0
    # Locked, skipping a call someone is acknowledging right now (the next pass sees it acknowledged, or escalates it).
    for alert in service.find(session, [AlertKind.EMERGENCY_CALL], statuses=[AlertStatus.RAISED],
                              level=AlertLevel.STATION, stations=stations, lock=True, skip_locked=True):
        if alert.station_id in stations and rules_alerts.escalation_due(alert.status, alert.level, alert.raised_at,
                                                                        now, config):
            service.escalate(alert, AlertLevel.DISPATCH, now, rules_alerts.escalation_note(config))
            count += 1
    return count


def live_offline(session: Session, stations: list[Station], config: RulesConfig, now: datetime,
                 calendar: Calendar = PACKAGE) -> int:
    """Raise `station_offline` for stations silent for `offline_alert_minutes` inside working hours; resolve it when
    they are heard again. A station on an approved closure (or a holiday of the calendar) has no working hours."""
    # Ingest keeps each device's last-seen time (event time; receipt time for a faulty clock): a tiny table to scan.
    ids = [s.id for s in stations]
    last_seen = dict(session.execute(
        select(Device.station_id, func.max(Device.last_seen_at)).where(Device.station_id.in_(ids))
        .group_by(Device.station_id)).tuples().all())
    todays = {local_today(s, now) for s in stations}
    closures: dict[str, dict[date, str]] = defaultdict(dict)
    for sid, day, reason in session.execute(select(StationException.station_id, StationException.date,
                                                   StationException.reason)
                                            .where(StationException.station_id.in_(ids),
                                                   StationException.date.in_(todays))).tuples():
        closures[sid][day] = reason
    raised = 0
    t = now.timestamp()
    for station in stations:
        today = local_today(station, now)
        plan = plan_day(station.schedule(), today, closures.get(station.id), calendar)
        seen = last_seen.get(station.id)
        seen_t = seen.timestamp() if seen is not None else None
        if plan.excused is None and rules_alerts.offline_now(station.id, plan.sessions, seen_t, t, config):
            service.raise_alert(session, rules_alerts.live_offline_alert(station.id, today.isoformat(), now, seen))
            raised += 1
        elif seen is not None and t - seen.timestamp() < config.offline_alert_minutes * 60:
            back = service.find(session, [AlertKind.STATION_OFFLINE], station=station.id,
                                statuses=[AlertStatus.RAISED], lock=True, skip_locked=True)
            apply.resolve_all(back, now, f"heard again at {seen.isoformat()}")
    return raised


def apply_changes(factory: sessionmaker[Session], partition: Partition, now: datetime, stats: PassStats,
                  holidays_file: Path | None = None) -> Calendar:
    """Take in a changed holiday file and closures (marking the days they change) and return the calendar in force.
    A broken holiday file is logged and counted; the version in force stays."""
    with factory() as session:
        if holidays_file is not None:
            try:
                calendar_store.sync_setting_file(session, holidays_file, now)
                session.commit()
            except ConfigFileError as exc:
                session.rollback()
                stats.errors += 1
                stats.messages.append(str(exc).splitlines()[0])
                log.error("holiday file not taken in, the calendar in force stays: %s", exc)
        stats.marked += calendar_store.apply_calendar(session, now)
        owned = {sid for sid in session.execute(select(Station.id)).scalars() if partition.owns(sid)}
        stats.marked += calendar_store.apply_exceptions(session, owned, now)
        session.commit()
        return calendar_store.load_calendar(session)


def run_pass(factory: sessionmaker[Session], partition: Partition, config: RulesConfig, now: datetime, *,
             holidays_file: Path | None = None,
             timezone: str = "Asia/Shanghai", purger: Purger | None = None,
             retention: Retention | None = None, catchup: CatchUp | None = None) -> PassStats:
    """One pass of the worker at `now` (injected, so tests control time). `holidays_file` is the setting's file, taken
    in when it changes; `timezone` is the deployment's, for the calendar's year alerts. With a `purger`, the retention
    purge runs at the end of the pass (at most once per its period); with a `retention` (or the purger's), days whose
    raw events are past it are final and never recomputed. `catchup`: the worker's memory of the days final so far
    (`cloud.derive.catchup`); without it, the pass looks over every owed day."""
    stats = PassStats()
    retention = retention or (purger.retention if purger is not None else None)
    events_days = None if retention is None else retention.events_days
    calendar = apply_changes(factory, partition, now, stats, holidays_file)
    with factory() as session:
        owned = [s for s in session.execute(select(Station)).scalars() if partition.owns(s.id)]
        # Before the dirty days are recomputed, so the days it marks are derived in this same pass.
        stats.caught_up = (catchup or CatchUp()).mark(session, owned, now, events_days)
        session.commit()
    recompute_dirty(factory, partition, config, now, stats, calendar, events_days)
    fill_and_judge(factory, [s.id for s in owned], config, now, stats, calendar)
    with factory() as session:
        ids = {s.id for s in owned}
        stats.escalated = escalate_calls(session, ids, config, now)
        stats.offline = live_offline(session, owned, config, now, calendar)
        if partition.index == 1:  # deployment-wide: one worker raises it
            today = now.astimezone(ZoneInfo(timezone)).date()
            stats.unknown_years = calendar_store.unknown_year_alerts(session, calendar, today, now)
            stats.homecare = homecare_pass(session, config.homecare, now, timezone)
        session.commit()
    if purger is not None:  # last: what this pass derived was derived with the person ids
        stats.purged = purger(now)
    return stats


def run_worker(*, partition: str, once: bool, interval: float, config: RulesConfig | None = None,
               data_dir: Path | None = None) -> None:
    """`eldercare cloud worker`: settings from the environment (and `--data-dir`), passes until interrupted."""
    from cloud.store.db import make_session_factory, safe_url
    from cloud.store.options import open_store, settings_for

    try:
        part = Partition.parse(partition)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--partition") from None
    from cloud.derive.deployment import read_holidays, read_rules

    settings = settings_for(data_dir)
    try:
        config = config or read_rules(settings.rules_file)
        if settings.holidays_file is not None:
            read_holidays(settings.holidays_file)  # refuse to start on a broken file rather than judge without it
    except ConfigFileError as exc:
        raise click.ClickException(str(exc)) from None
    url = settings.resolved_database_url
    engine = open_store(url, create=True)  # the platform's own process: creates an embedded store
    factory = make_session_factory(engine)
    retention = Retention(events_days=settings.retention_events_days,
                          dead_letters_days=settings.retention_dead_letters_days,
                          person_days=settings.retention_person_days)
    purger = Purger(engine, retention) if part.index == 1 else None  # one purger is enough; all keep old days final
    catchup = CatchUp()
    log.info("worker %d/%d on %s", part.index, part.count, safe_url(url))
    try:
        while True:
            started = clock.monotonic()
            stats = run_pass(factory, part, config, datetime.now(UTC), holidays_file=settings.holidays_file,
                             timezone=settings.timezone, purger=purger, retention=retention, catchup=catchup)
            if stats.days or stats.errors or stats.escalated or stats.marked:
                log.info("pass: %d days of %d stations, %d errors, %d escalated, %d offline, "
                         "%d station-days marked by a calendar or closure change, %d caught up (%.1f s)", stats.days,
                         stats.stations, stats.errors, stats.escalated, stats.offline, stats.marked, stats.caught_up,
                         clock.monotonic() - started)
            if once:
                if stats.errors:
                    raise click.ClickException(f"{stats.errors} error(s) in the pass: {stats.messages[0]}")
                return
            clock.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        engine.dispose()
