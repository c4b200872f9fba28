"""The calendar in force and what its changes imply, over the store.

One source of truth: the newest row of `holiday_files`. A bureau user's upload (dashboard) adds a version; so does
the worker (and the API at start) when the file named by `ELDERCARE_HOLIDAYS_FILE` has content different from the
last version read from that file. The newest version wins either way, and every version is kept with who and where
it came from. The worker applies a new version by marking the station-days whose meaning changed for recomputation,
and likewise for approved closures added, changed or withdrawn since it last applied them.
"""

import hashlib
import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from cloud.alerts import apply, keys, service
from cloud.alerts.kinds import AlertKind, AlertLevel, AlertSpec
from cloud.derive.deployment import ConfigFileError, read_holidays
from cloud.derive.storeio import mark_dirty, upsert
from cloud.rules.calendar import PACKAGE, Calendar, unknown_years
from cloud.rules.holidays_file import LocalDay, parse_holidays, to_csv
from cloud.store.calendar import AppliedException, HolidayFile
from cloud.store.derived import DayResult
from cloud.store.models import Station, StationException

log = logging.getLogger(__name__)


def current_version(session: Session) -> HolidayFile | None:
    return session.scalars(select(HolidayFile).order_by(HolidayFile.id.desc()).limit(1)).first()


def calendar_of(version: HolidayFile | None) -> Calendar:
    """The calendar a stored version gives (it was validated when stored)."""
    return PACKAGE if version is None else Calendar.from_days(parse_holidays(version.content, stored=True))


def load_calendar(session: Session) -> Calendar:
    """The calendar in force: the package with the newest holiday file version on top."""
    return calendar_of(current_version(session))


def store_version(session: Session, days: list[LocalDay], *, source: str, now: datetime, by: str | None = None,
                  path: str | None = None) -> HolidayFile | None:
    """Add a version unless it equals the one in force (same days); returns the new row, or None. Caller commits."""
    content = to_csv(days)
    digest = hashlib.sha256(content.encode()).hexdigest()
    current = current_version(session)
    if current is not None and current.sha256 == digest:
        return None
    row = HolidayFile(content=content, sha256=digest, source=source, path=path, uploaded_by=by, uploaded_at=now)
    session.add(row)
    session.flush()
    return row


def sync_setting_file(session: Session, path: Path, now: datetime) -> HolidayFile | None:
    """Store the file of `ELDERCARE_HOLIDAYS_FILE` as a new version when it changed since it was last read (an
    upload made meanwhile stays in force until the file itself changes). Raises ConfigFileError. Caller commits."""
    days, _ = read_holidays(path)
    content = to_csv(days)
    digest = hashlib.sha256(content.encode()).hexdigest()
    last = session.scalars(select(HolidayFile).where(HolidayFile.source == "setting", HolidayFile.path == str(path))
                           .order_by(HolidayFile.id.desc()).limit(1)).first()
    if last is not None and last.sha256 == digest:
        return None
    return store_version(session, days, source="setting", now=now, path=str(path), by="ELDERCARE_HOLIDAYS_FILE")


def changed_dates(old: Calendar, new: Calendar) -> set[date]:
    """Dates whose meaning differs between two calendars (local lines, and whole years becoming known or not)."""
    candidates = set(old.local or {}) | set(new.local or {})
    for year in old.file_years ^ new.file_years:
        first = date(year, 1, 1)
        candidates |= {first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days)}
    return {d for d in candidates if old.day(d) != new.day(d)}


def _mark_station_days(session: Session, wanted: dict[str, set[date]], zones: dict[str, str], now: datetime) -> int:
    """Mark the past and present days for recompute; a future day of the current month marks today (the month's
    count of working days changes with it). Days before a station's first result are left alone."""
    first_day = dict(session.execute(select(DayResult.station_id, func.min(DayResult.local_date))
                                     .group_by(DayResult.station_id)).tuples().all())
    marked = 0
    for station_id, dates in wanted.items():
        start = first_day.get(station_id)
        if start is None or station_id not in zones:
            continue  # nothing stored yet: the station's days will be derived with the new calendar anyway
        today = now.astimezone(ZoneInfo(zones[station_id])).date()
        todo = {d for d in dates if start <= d <= today}
        if any(d > today and (d.year, d.month) == (today.year, today.month) for d in dates):
            todo.add(today)
        mark_dirty(session, station_id, todo, now)
        marked += len(todo)
    return marked


def apply_calendar(session: Session, now: datetime) -> int:
    """If the newest version is not applied yet, mark every stored station-day whose meaning it changes; returns the
    number of station-days marked. Only one worker applies a version (a conditional update). Caller commits."""
    current = current_version(session)
    if current is None or current.applied_at is not None:
        return 0
    claimed = session.execute(update(HolidayFile).where(HolidayFile.id == current.id, HolidayFile.applied_at.is_(None))
                              .values(applied_at=now))
    if not getattr(claimed, "rowcount", 0):
        return 0
    previous = session.scalars(select(HolidayFile)
                               .where(HolidayFile.id < current.id, HolidayFile.applied_at.is_not(None))
                               .order_by(HolidayFile.id.desc()).limit(1)).first()
    dates = changed_dates(calendar_of(previous), calendar_of(current))
    if not dates:
        return 0
    zones = dict(session.execute(select(Station.id, Station.timezone)).tuples().all())
    marked = _mark_station_days(session, {sid: dates for sid in zones}, zones, now)
    log.info("holiday file version %d: %d dates changed, %d station-days to recompute", current.id, len(dates), marked)
    return marked


def apply_exceptions(session: Session, stations: set[str], now: datetime) -> int:
    """Mark the days of closures added, changed or withdrawn since the worker last applied them (of `stations`), and
    remember them as applied; returns the number of station-days marked. Caller commits."""
    if not stations:
        return 0
    wanted = {(sid, d): reason for sid, d, reason in session.execute(
        select(StationException.station_id, StationException.date, StationException.reason)
        .where(StationException.station_id.in_(stations))).tuples()}
    applied = {(sid, d): reason for sid, d, reason in session.execute(
        select(AppliedException.station_id, AppliedException.date, AppliedException.reason)
        .where(AppliedException.station_id.in_(stations))).tuples()}
    changed = {key for key in wanted.keys() | applied.keys() if wanted.get(key) != applied.get(key)}
    if not changed:
        return 0
    by_station: dict[str, set[date]] = defaultdict(set)
    # Written by statements that do not depend on what was read: two workers whose partitions overlap (or an old and
    # a new one during a deployment) may apply the same closure at once, and must both go on (marking a day twice
    # only recomputes it twice), not stop on a duplicate key.
    for sid, day in sorted(changed):
        by_station[sid].add(day)
        if (sid, day) not in wanted:
            session.execute(delete(AppliedException).where(AppliedException.station_id == sid,
                                                           AppliedException.date == day))
    upsert(session, AppliedException.__table__,  # type: ignore[arg-type]
           [{"station_id": sid, "date": day, "reason": wanted[(sid, day)]} for sid, day in sorted(changed)
            if (sid, day) in wanted], ["station_id", "date"])
    zones = dict(session.execute(select(Station.id, Station.timezone).where(Station.id.in_(stations))).tuples().all())
    return _mark_station_days(session, dict(by_station), zones, now)


def unknown_year_alerts(session: Session, calendar: Calendar, today: date, now: datetime) -> list[int]:
    """Raise one bureau alert per year the calendar must know by `today` and does not (from 1 December, next year);
    resolve those of years it now knows. Returns the unknown years. Caller commits."""
    missing = unknown_years(calendar, today)
    for year in missing:
        message = (f"the working calendar does not know {year}: days of {year} cannot be judged; upload the State "
                   f"Council's holiday notice for {year} as the holiday file")
        service.raise_alert(session, AlertSpec(AlertKind.CALENDAR_UNKNOWN_YEAR, None, keys.unknown_year_key(year),
                                               AlertLevel.BUREAU, now, {"year": year, "message": message}))
    for alert in service.find(session, [AlertKind.CALENDAR_UNKNOWN_YEAR]):
        year = keys.unknown_year_of(alert.cause_key)
        if year not in missing and calendar.knows(year):
            apply.resolve_all([alert], now, f"the calendar now knows {year}")
    return missing


__all__ = ["ConfigFileError", "apply_calendar", "apply_exceptions", "changed_dates", "current_version",
           "load_calendar", "store_version", "sync_setting_file", "unknown_year_alerts"]
