"""A station's weekly working hours, in the spreadsheet syntax bureaus use.

`weekdays` is ISO weekday numbers with ranges and commas (`1-5`, `1-6`, `1,3,5`); `hours` is one or more
`HH:MM-HH:MM` sessions separated by spaces (`08:30-11:30 13:30-17:00`). Shared by station YAML files, the registry's
CSV import and the rules.
"""

import re
from datetime import time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

_SESSION = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def parse_weekdays(text: str) -> frozenset[int]:
    """`1-5` → {1..5}; `1,3,5` → {1,3,5}; raises ValueError in plain words."""
    days: set[int] = set()
    cleaned = text.replace(" ", "")
    if not cleaned:
        raise ValueError("weekdays is empty; use ISO weekday numbers like 1-5 or 1,3,5")
    for part in cleaned.split(","):
        bounds = part.split("-")
        if len(bounds) > 2 or not all(b.isdigit() for b in bounds):
            raise ValueError(f"weekdays part {part!r} is not a number or a range like 1-5")
        low, high = int(bounds[0]), int(bounds[-1])
        if not (1 <= low <= 7 and 1 <= high <= 7):
            raise ValueError(f"weekdays part {part!r}: ISO weekdays are 1 (Monday) to 7 (Sunday)")
        if low > high:
            raise ValueError(f"weekdays range {part!r} runs backwards")
        days.update(range(low, high + 1))
    return frozenset(days)


def _clock(hour: str, minute: str, session: str) -> time:
    h, m = int(hour), int(minute)
    if h > 23 or m > 59:
        raise ValueError(f"session {session!r}: {hour}:{minute} is not a time of day")
    return time(h, m)


def parse_hours(text: str) -> tuple[tuple[time, time], ...]:
    """`08:30-11:30 13:30-17:00` → ((08:30, 11:30), (13:30, 17:00)); sessions must be in order, not overlapping."""
    sessions: list[tuple[time, time]] = []
    for session in text.split():
        match = _SESSION.fullmatch(session)
        if not match:
            raise ValueError(f"hours session {session!r} is not HH:MM-HH:MM")
        start = _clock(match[1], match[2], session)
        end = _clock(match[3], match[4], session)
        if end <= start:
            raise ValueError(f"hours session {session!r} ends before it starts")
        if sessions and start < sessions[-1][1]:
            raise ValueError(f"hours session {session!r} overlaps or precedes the one before it")
        sessions.append((start, end))
    if not sessions:
        raise ValueError("hours is empty; use sessions like 08:30-11:30 13:30-17:00")
    return tuple(sessions)


def _weekdays(value: Any) -> Any:
    return parse_weekdays(str(value)) if isinstance(value, str | int) else value


def _hours(value: Any) -> Any:
    return parse_hours(value) if isinstance(value, str) else value


Weekdays = Annotated[frozenset[int], BeforeValidator(_weekdays)]
Sessions = Annotated[tuple[tuple[time, time], ...], BeforeValidator(_hours)]


class Schedule(BaseModel):
    """Weekly sessions in the station's local time, and whether it opens on statutory holidays."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weekdays: Weekdays = Field(description="ISO weekdays, e.g. '1-5' or '1,3,5'")
    hours: Sessions = Field(description="sessions, e.g. '08:30-11:30 13:30-17:00'")
    open_on_holidays: bool = False
    timezone: str = "Asia/Shanghai"

    @model_validator(mode="after")
    def _known_timezone(self) -> "Schedule":
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r}") from None
        return self

    @property
    def minutes_per_day(self) -> int:
        """Scheduled minutes on a working day."""
        return sum((e.hour * 60 + e.minute) - (s.hour * 60 + s.minute) for s, e in self.hours)

    def weekdays_text(self) -> str:
        return ",".join(str(d) for d in sorted(self.weekdays))

    def hours_text(self) -> str:
        return " ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in self.hours)
