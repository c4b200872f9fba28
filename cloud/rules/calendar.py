"""The working calendar: which local days a station must open, and its sessions as UTC epoch seconds.

Statutory holidays and make-up working days (调休) come from `chinesecalendar`, never a hand list. It knows only the
years the State Council has announced; for any other year the answer is "unknown", not a guess.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from firmware_config.schedule import Schedule


class DayKind(StrEnum):
    """What the national calendar says about a date."""

    WORKDAY = "workday"  # an ordinary Monday-Friday
    WEEKEND = "weekend"  # an ordinary Saturday or Sunday
    HOLIDAY = "holiday"  # a statutory holiday, including the weekdays moved into it
    MAKEUP = "makeup"  # a weekend day worked instead (调休)
    UNKNOWN = "unknown"  # the package has no data for this year


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


def plan_day(schedule: Schedule, day: date, exceptions: Mapping[date, str] | None = None) -> DayPlan:
    """The plan of `day` for a station with `schedule` and its approved exceptions (date -> reason)."""
    zone = ZoneInfo(schedule.timezone)
    national = national_day(day)
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
