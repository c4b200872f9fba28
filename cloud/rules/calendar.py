"""The working calendar: which local days a station must open, and its sessions as UTC epoch seconds.

Statutory holidays and make-up working days (调休) come from `chinesecalendar`, never a hand list. It knows only the
years the State Council has announced; for any other year the answer is "unknown", not a guess.

A bureau may add or override days with a local holiday file (`cloud.rules.holidays_file`): a county holiday, or the
State Council's notice for a year the package does not know yet. The file wins for the dates it lists. A year the
package does not know becomes known when the file lists at least one date in it: its other dates then follow the
weekly schedule (Monday-Friday working, weekends off), so such a file must list every holiday and make-up day of the
notice. A year neither knows stays unknown.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from cloud.rules.holidays_file import LocalDay
from firmware_config.schedule import Schedule


class DayKind(StrEnum):
    """What the national calendar says about a date."""

    WORKDAY = "workday"  # an ordinary Monday-Friday
    WEEKEND = "weekend"  # an ordinary Saturday or Sunday
    HOLIDAY = "holiday"  # a statutory holiday, including the weekdays moved into it
    MAKEUP = "makeup"  # a weekend day worked instead (调休)
    UNKNOWN = "unknown"  # neither the package nor the local file has data for this year


@dataclass(frozen=True, slots=True)
class NationalDay:
    kind: DayKind
    name: str | None = None  # e.g. "National Day", or why it is unknown


@lru_cache(maxsize=4096)
def national_day(day: date) -> NationalDay:
    """Classify a date with the maintained calendar; years it does not know are UNKNOWN with the reason."""
    try:
        is_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError as exc:
        return NationalDay(DayKind.UNKNOWN, f"holiday calendar has no data for {day.year}: {exc}")
    weekend = day.isoweekday() >= 6
    if is_holiday:
        return NationalDay(DayKind.HOLIDAY if name else DayKind.WEEKEND, name)
    return NationalDay(DayKind.MAKEUP if weekend else DayKind.WORKDAY, name)


def package_knows(year: int) -> bool:
    """Whether the installed `chinesecalendar` has the State Council's notice for `year`."""
    return national_day(date(year, 6, 1)).kind is not DayKind.UNKNOWN


def _weekly(day: date) -> NationalDay:
    return NationalDay(DayKind.WEEKEND if day.isoweekday() >= 6 else DayKind.WORKDAY)


@dataclass(frozen=True)
class Calendar:
    """The package's calendar with the bureau's local days on top. `Calendar()` is the package alone."""

    local: Mapping[date, LocalDay] | None = None

    @classmethod
    def from_days(cls, local: Iterable[LocalDay]) -> "Calendar":
        return cls({d.day: d for d in local})

    @property
    def file_years(self) -> frozenset[int]:
        """Years the local file lists at least one date of: known, even where the package is not."""
        return frozenset(d.year for d in self.local or {})

    def knows(self, year: int) -> bool:
        return year in self.file_years or package_knows(year)

    def day(self, day: date) -> NationalDay:
        """What the calendar says about `day`: the local file's line, else the package, else the weekly pattern of a
        year the file declares, else UNKNOWN."""
        local = (self.local or {}).get(day)
        if local is not None:
            weekend = day.isoweekday() >= 6
            name = local.name or None
            if local.kind == "holiday":
                return NationalDay(DayKind.HOLIDAY, name or "local holiday")
            return NationalDay(DayKind.MAKEUP if weekend else DayKind.WORKDAY, name)
        national = national_day(day)
        if national.kind is DayKind.UNKNOWN and day.year in self.file_years:
            return _weekly(day)
        return national


PACKAGE = Calendar()


@dataclass(frozen=True, slots=True)
class DayPlan:
    """A station's plan for one local date. `working` is None when the calendar cannot say."""

    day: date
    start: int  # local midnight, epoch seconds
    end: int  # next local midnight, epoch seconds
    national: NationalDay
    working: bool | None
    sessions: tuple[tuple[int, int], ...]  # scheduled [start, end) epoch seconds; empty unless working
    excused: str | None = None  # the approved exception's reason

    @property
    def scheduled_seconds(self) -> int:
        return sum(e - s for s, e in self.sessions)


def _epoch(day: date, at: time, zone: ZoneInfo) -> int:
    return int(datetime.combine(day, at, tzinfo=zone).timestamp())


def is_working(schedule: Schedule, day: date, national: NationalDay) -> bool | None:
    """Stations that open on holidays keep their weekly schedule; the others follow the national calendar too."""
    scheduled_weekday = day.isoweekday() in schedule.weekdays
    if schedule.open_on_holidays:
        return scheduled_weekday
    match national.kind:
        case DayKind.UNKNOWN:
            return None
        case DayKind.HOLIDAY:
            return False
        case DayKind.MAKEUP:
            return True
        case _:
            return scheduled_weekday


def plan_day(schedule: Schedule, day: date, exceptions: Mapping[date, str] | None = None,
             calendar: Calendar = PACKAGE) -> DayPlan:
    """The plan of `day` for a station with `schedule` and its approved exceptions (date -> reason), by `calendar`
    (default: the package alone)."""
    zone = ZoneInfo(schedule.timezone)
    national = calendar.day(day)
    working = is_working(schedule, day, national)
    sessions: tuple[tuple[int, int], ...] = ()
    if working:
        sessions = tuple((_epoch(day, s, zone), _epoch(day, e, zone)) for s, e in schedule.hours)
    start = _epoch(day, time(0), zone)
    end = _epoch(day + timedelta(days=1), time(0), zone)
    excused = (exceptions or {}).get(day)
    return DayPlan(day, start, end, national, working, sessions, excused)


def days(first: date, last: date) -> list[date]:
    """Every date from `first` to `last` inclusive."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# From this day of December on, next year's calendar must be known: plans and rosters for January are made now.
ALERT_FROM_MONTH_DAY = (12, 1)


def unknown_years(calendar: Calendar, today: date) -> list[int]:
    """The years the calendar should know by `today` and does not: this year, and from 1 December next year."""
    years = [today.year]
    if (today.month, today.day) >= ALERT_FROM_MONTH_DAY:
        years.append(today.year + 1)
    return [y for y in years if not calendar.knows(y)]
