"""Days nothing marked for recompute since they ended: a silent station's.

Ingest marks a station-day dirty when data for it arrives, and the worker derives today for every station; a day is
derived as over only if something marks it after it ended. A station that goes silent (its Pi unplugged after a good
morning, or off for weeks, or an agent that never connected) sends nothing that would, so its days kept the row
derived while they ran (no `equipment_off` flag after the good morning, none of the day's alerts), and days the
worker never derived at all (it was stopped over a month's end) had none: its months then counted fewer scheduled
days than it owed. The catch-up marks every day since the station owes results (its registration, and the raw
events' retention) up to yesterday, in its zone, whose stored result was not derived after the day ended.

`due` is the pure selection; `CatchUp` remembers, per station, the day through which every day is final, so that a
pass after the first only looks at the days since (after local midnight, yesterday; otherwise nothing).
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.derive.storeio import mark_dirty
from cloud.rules.calendar import days
from cloud.store.derived import DayResult
from cloud.store.models import Station
from cloud.store.retention import first_kept_day

# At most this many station-days marked in one pass (oldest first): the first pass after an upgrade, or after a long
# stop, catches up over several passes instead of one long one.
DEFAULT_LIMIT = 500
# How far back the catch-up looks, in days before today: the month just ended and the one before it (a worker stopped
# over a month's end), whose figures are still read and acted on. A running worker catches each day up the night it
# ends, so only a worker stopped for longer, or the first pass after an upgrade, leaves older days as they were
# stored; looking further back would raise a town alert for every silent day of a year at once.
LOOKBACK_DAYS = 62


@dataclass(frozen=True, slots=True)
class Owed:
    """A station owes a final result for every day from `since` up to yesterday, in `timezone`."""

    station: str
    timezone: str
    since: date


def day_over(day: date, timezone: str) -> datetime:
    """When `day` ends where the station is: the next local midnight."""
    return datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(timezone))


def yesterday(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def due(owed: Sequence[Owed], derived: Mapping[str, Mapping[date, datetime]], now: datetime,
        limit: int = DEFAULT_LIMIT) -> tuple[dict[str, list[date]], dict[str, date]]:
    """The days to derive again, per station (oldest first, at most `limit` in all), and per station the last day
    through which every day it owes is final. `derived`: each station's stored days and when they were derived. A
    day is final when derived after it ended; one derived while it ran, or never, is due."""
    todo: dict[str, list[date]] = defaultdict(list)
    final: dict[str, date] = {}
    left = limit
    for item in owed:
        last = yesterday(now, item.timezone)
        stored = derived.get(item.station, {})
        through = item.since - timedelta(days=1)
        for day in days(item.since, last):
            at = stored.get(day)
            if at is not None and at >= day_over(day, item.timezone):
                if through == day - timedelta(days=1):
                    through = day  # every day before it final too
                continue
            if left == 0:
                break
            todo[item.station].append(day)
            left -= 1
        if through >= item.since:
            final[item.station] = through
    return dict(todo), final


def owed_since(station: Station, now: datetime, events_days: int | None) -> date:
    """The first day a station owes a result: the day it was registered, in its zone, `LOOKBACK_DAYS` before today,
    or the first day whose raw events are all still kept (days before it are final whatever their rows:
    `recompute_dirty`), whichever is latest."""
    since = station.created_at.astimezone(ZoneInfo(station.timezone)).date()
    since = max(since, now.astimezone(ZoneInfo(station.timezone)).date() - timedelta(days=LOOKBACK_DAYS))
    if events_days is not None:
        since = max(since, first_kept_day(now, events_days, station.timezone))
    return since


@dataclass
class CatchUp:
    """The worker's memory of each station's days final so far (in memory: a restart looks over them all once)."""

    limit: int = DEFAULT_LIMIT
    final: dict[str, date] = field(default_factory=dict)

    def mark(self, session: Session, stations: Sequence[Station], now: datetime, events_days: int | None) -> int:
        """Mark for recompute the days of `stations` owed and not final; returns how many. The caller commits."""
        owed = []
        for station in stations:
            since = owed_since(station, now, events_days)
            known = self.final.get(station.id)
            if known is not None:
                since = max(since, known + timedelta(days=1))
            if since <= yesterday(now, station.timezone):
                owed.append(Owed(station.id, station.timezone, since))
        if not owed:
            return 0
        derived: dict[str, dict[date, datetime]] = defaultdict(dict)
        rows = session.execute(select(DayResult.station_id, DayResult.local_date, DayResult.computed_at).where(
            DayResult.station_id.in_([o.station for o in owed]),
            DayResult.local_date >= min(o.since for o in owed),
            DayResult.local_date <= max(yesterday(now, s.timezone) for s in stations)))
        for station_id, day, at in rows.tuples():
            derived[station_id][day] = at
        todo, final = due(owed, derived, now, self.limit)
        self.final.update(final)
        for station_id, dates in todo.items():
            mark_dirty(session, station_id, dates, now)
        return sum(len(d) for d in todo.values())
