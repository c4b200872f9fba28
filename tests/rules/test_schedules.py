"""Which registered version of a station's hours and grade applies on a day: the latest effective on or before it."""

from datetime import date

import pytest

from cloud.rules.calendar import plan_day
from cloud.rules.schedules import ScheduleHistory, ScheduleVersion, schedule_on, version_on
from firmware_config.schedule import Schedule

LONG = Schedule(weekdays="1-5", hours="08:00-17:00")
SHORT = Schedule(weekdays="1-5", hours="09:00-11:00")
V1 = ScheduleVersion(date(2026, 9, 1), LONG, "3A")
V2 = ScheduleVersion(date(2026, 10, 15), SHORT, "2A")


def test_the_version_in_force_is_the_latest_on_or_before_the_day() -> None:
    versions = [V2, V1]  # in any order
    assert version_on(versions, date(2026, 10, 14)) is V1
    assert version_on(versions, date(2026, 10, 15)) is V2  # from its first day
    assert version_on(versions, date(2027, 1, 1)) is V2
    # Before the station was registered (a replay of older data): the first registered hours, the only ones known.
    assert version_on(versions, date(2026, 1, 1)) is V1


def test_no_version_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="at least one"):
        version_on([], date(2026, 10, 15))
    with pytest.raises(ValueError, match="at least one"):
        ScheduleHistory(())


def test_a_history_plans_each_day_by_its_own_hours() -> None:
    history = ScheduleHistory((V2, V1))
    wednesday, thursday = date(2026, 10, 14), date(2026, 10, 15)
    assert plan_day(schedule_on(history, wednesday), wednesday).scheduled_seconds == 9 * 3600
    assert plan_day(schedule_on(history, thursday), thursday).scheduled_seconds == 2 * 3600
    assert schedule_on(LONG, thursday) is LONG  # one schedule for every day (the offline audit's CSV)
    assert ScheduleHistory.single(SHORT, "4A").on(date(1970, 1, 1)).grade == "4A"
