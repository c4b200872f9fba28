import re
from datetime import time

import pytest
from pydantic import ValidationError

from firmware_config.schedule import Schedule, parse_hours, parse_weekdays


@pytest.mark.parametrize(
    ("text", "days"),
    [("1-5", {1, 2, 3, 4, 5}), ("1-6", {1, 2, 3, 4, 5, 6}), ("1,3,5", {1, 3, 5}), ("1-3,6", {1, 2, 3, 6}), ("7", {7})],
)
def test_weekdays(text: str, days: set[int]) -> None:
    assert parse_weekdays(text) == days


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty"), ("0-5", "1 (Monday) to 7"), ("5-1", "backwards"), ("mon", "not a number"), ("1-8", "7 (Sunday)")],
)
def test_bad_weekdays(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_weekdays(text)


def test_split_day_hours() -> None:
    assert parse_hours("08:30-11:30 13:30-17:00") == ((time(8, 30), time(11, 30)), (time(13, 30), time(17, 0)))


@pytest.mark.parametrize(
    ("text", "problem"),
    [("8-11", "not HH:MM-HH:MM"), ("11:30-08:30", "ends before"), ("08:00-12:00 11:00-17:00", "overlaps"),
     ("25:00-26:00", "not a time of day"), ("", "empty")],
)
def test_bad_hours(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        parse_hours(text)


def test_schedule_from_spreadsheet_text() -> None:
    schedule = Schedule.model_validate({"weekdays": "1-5", "hours": "08:30-11:30 13:30-17:00"})
    assert schedule.minutes_per_day == 180 + 210
    assert (schedule.weekdays_text(), schedule.hours_text()) == ("1,2,3,4,5", "08:30-11:30 13:30-17:00")
    assert not schedule.open_on_holidays and schedule.timezone == "Asia/Shanghai"


def test_schedule_rejects_unknown_timezone() -> None:
    with pytest.raises(ValidationError, match="unknown timezone"):
        Schedule.model_validate({"weekdays": "1-5", "hours": "08:00-17:00", "timezone": "Mars/Olympus"})
