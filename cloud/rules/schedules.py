"""Which of a station's registered schedules and grades applies on a day. Pure: versions in, one version out.

A station's working hours and grade change over time (the bureau edits them, or re-imports its spreadsheet). Each
change is a version that applies from a date in the station's own zone; a day is judged by the version in force on
that day, and a month by the grade in force on its last day, so re-deriving an old day later never judges it by hours
that were not in force then.
"""

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from firmware_config.schedule import Schedule


@dataclass(frozen=True, slots=True)
class ScheduleVersion:
    """The station's hours, grade and kind from `effective_from` (a local date) until the next version's. `grade`
    is None for the kinds that have none (see firmware_config.kind)."""

    effective_from: date
    schedule: Schedule
    grade: str | None
    kind: str = "station"


def version_on(versions: Sequence[ScheduleVersion], day: date) -> ScheduleVersion:
    """The version in force on `day`: the latest one effective on or before it. A day before the first version (data
    replayed from before the station was registered) is judged by the first: no earlier hours were ever registered.
    `versions` need not be sorted; raises ValueError when there are none."""
    if not versions:
        raise ValueError("a station has at least one registered schedule")
    ordered = sorted(versions, key=lambda v: v.effective_from)
    at = bisect_right([v.effective_from for v in ordered], day)
    return ordered[max(at - 1, 0)]


@dataclass(frozen=True, slots=True)
class ScheduleHistory:
    """A station's versions, for the derivation to ask day by day."""

    versions: tuple[ScheduleVersion, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise ValueError("a station has at least one registered schedule")
        object.__setattr__(self, "versions", tuple(sorted(self.versions, key=lambda v: v.effective_from)))

    @classmethod
    def single(cls, schedule: Schedule, grade: str | None, kind: str = "station") -> "ScheduleHistory":
        """One version for every day (a station file of the offline audit has no history)."""
        return cls((ScheduleVersion(date.min, schedule, grade, kind),))

    def on(self, day: date) -> ScheduleVersion:
        return version_on(self.versions, day)


def schedule_on(schedule: Schedule | ScheduleHistory, day: date) -> Schedule:
    """The schedule to judge `day` by: the one given, or the version of a history in force on that day."""
    return schedule.on(day).schedule if isinstance(schedule, ScheduleHistory) else schedule
