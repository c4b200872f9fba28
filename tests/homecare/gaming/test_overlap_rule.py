"""The pure rule behind the refusal of one caregiver's two orders of one elder over the same time."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cloud.homecare.orders import overlapping_visit

NINE = datetime(2026, 10, 12, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
HOUR = timedelta(hours=1)
DONE = [("first", NINE, NINE + HOUR)]


def test_an_instant_inside_a_visit_is_taken_its_end_is_not() -> None:
    assert overlapping_visit(NINE, None, DONE) == "first"
    assert overlapping_visit(NINE + HOUR - timedelta(seconds=1), None, DONE) == "first"
    assert overlapping_visit(NINE + HOUR, None, DONE) is None  # back to back
    assert overlapping_visit(NINE - timedelta(seconds=1), None, DONE) is None


def test_a_span_across_a_visit_is_taken_a_span_touching_it_is_not() -> None:
    assert overlapping_visit(NINE - HOUR, NINE + timedelta(seconds=1), DONE) == "first"
    assert overlapping_visit(NINE + timedelta(minutes=10), NINE + timedelta(minutes=20), DONE) == "first"
    assert overlapping_visit(NINE - HOUR, NINE + 3 * HOUR, DONE) == "first"
    assert overlapping_visit(NINE - HOUR, NINE, DONE) is None
    assert overlapping_visit(NINE + HOUR, NINE + 2 * HOUR, DONE) is None
    assert overlapping_visit(NINE, NINE + HOUR, []) is None


def test_the_earliest_of_several_is_named() -> None:
    later = ("later", NINE + 2 * HOUR, NINE + 3 * HOUR)
    assert overlapping_visit(NINE - HOUR, NINE + 4 * HOUR, [later, *DONE]) == "first"
