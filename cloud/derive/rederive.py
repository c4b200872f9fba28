"""`eldercare cloud rederive`: recompute stored results of a date range with the rules and calendar in force.

The same unit of work as the worker (`recompute_station`), one station-month per transaction, so an interrupted run
keeps what it finished and a rerun gives the same rows.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloud.derive import calendar_store
from cloud.derive.deployment import ConfigFileError
from cloud.derive.recompute import recompute_station_days, runs
from cloud.derive.shared import month_span
from cloud.rules.calendar import Calendar, days
from cloud.rules.config import RulesConfig
from cloud.store.models import Station
from cloud.store.retention import first_kept_day


def month_chunks(first: date, last: date) -> list[tuple[date, date]]:
    """[first, last] cut at month boundaries."""
    out = []
    start = first
    while start <= last:
        end = min(month_span(start)[1], last)
        out.append((start, end))
        start = date(end.year + end.month // 12, end.month % 12 + 1, 1)
    return out


def rederive_range(factory: sessionmaker[Session], first: date, last: date, station_ids: list[str],
                   config: RulesConfig, calendar: Calendar, now: datetime,
                   progress: Callable[[str], None] = lambda _: None) -> int:
    """Recompute [first, last] (up to each station's today) for the stations (all if empty); returns the station-days
    of the range derived. Raises ValueError naming stations that do not exist.

    Deriving a day also derives the next (a door left open past midnight carries over) and any day of its month never
    derived (a month is judged on all its days): the progress counts those apart, so that its figures add up to the
    days asked for."""
    with factory() as session:
        stations = list(session.scalars(select(Station).order_by(Station.id)))
    if station_ids:
        unknown = sorted(set(station_ids) - {s.id for s in stations})
        if unknown:
            raise ValueError(f"no such station: {', '.join(unknown)}")
        stations = [s for s in stations if s.id in set(station_ids)]
    total = beyond = 0
    for number, station in enumerate(stations, start=1):
        today = now.astimezone(ZoneInfo(station.timezone)).date()
        outside: set[date] = set()  # this station's days derived beyond the range, each counted once
        for start, end in month_chunks(first, min(last, today)):
            with factory() as session:
                loaded = session.get(Station, station.id)
                if loaded is None:
                    break  # removed meanwhile
                derived = recompute_station_days(session, loaded, days(start, end), today, config, now, calendar)
                session.commit()
            # A day of the range outside this month's chunk (the 1st after the 31st) is counted with its own chunk.
            count = sum(start <= d <= end for d in derived)
            extra = {d for d in derived if d < first or d > last} - outside
            outside |= extra
            total += count
            progress(f"station {number}/{len(stations)} {station.id} {start:%Y-%m}: {_days(count)}"
                     + (f" (and {_days(len(extra))} beyond the range, {_span(extra)}: {WHY_BEYOND})" if extra else ""))
        beyond += len(outside)
    progress(f"done: {_days(total)} of {len(stations)} station{'s' if len(stations) != 1 else ''}, {first}..{last}"
             + (f" (and {_days(beyond)} beyond the range)" if beyond else ""))
    return total


WHY_BEYOND = "the day after carries a door left open overnight; a month is judged on all its days"


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def _span(dates: set[date]) -> str:
    return ", ".join(f"{low}" if low == high else f"{low}..{high}" for low, high in runs(dates))


def rederive_store(first: date, last: date, station_ids: list[str], config: RulesConfig, data_dir: Path | None,
                   progress: Callable[[str], None], now: datetime | None = None) -> int:
    """The command's body: settings, schema check, the calendar in force (taking in ELDERCARE_HOLIDAYS_FILE if it
    changed, as the worker would), then `rederive_range`, at `now` (default: the real clock)."""
    from cloud.store.db import make_engine, make_session_factory
    from cloud.store.migrate import SchemaNotReady, ensure_schema
    from cloud.store.options import settings_for

    settings = settings_for(data_dir)
    engine = make_engine(settings.resolved_database_url)
    try:
        ensure_schema(engine)  # SQLite created or upgraded, as by every command; PostgreSQL must be migrated
        factory = make_session_factory(engine)
        now = now or datetime.now(UTC)
        kept_from = first_kept_day(now, settings.retention_events_days, settings.timezone)
        if first < kept_from:  # re-deriving from what retention left would overwrite the results with less
            raise ValueError(f"raw events before {kept_from} are past retention (ELDERCARE_RETENTION_EVENTS_DAYS="
                             f"{settings.retention_events_days}): their derived results are final; start at "
                             f"{kept_from} or later")
        with factory() as session:
            if settings.holidays_file is not None:
                calendar_store.sync_setting_file(session, settings.holidays_file, now)
                session.commit()
            calendar = calendar_store.load_calendar(session)
        return rederive_range(factory, first, last, station_ids, config, calendar, now, progress)
    except (SchemaNotReady, ConfigFileError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
