"""The simulated span is counted in the stations' days: just after midnight in Shanghai (still the day before in UTC)
today is the new day, and the progress never reads past its last day (`day 32/31`)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from simulators.fleet import build_fleet, fleet_events
from simulators.fleet_commands import Span

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_just_after_midnight_in_shanghai_today_is_the_new_day() -> None:
    now = datetime(2026, 10, 31, 16, 10, tzinfo=UTC)  # 2026-11-01 00:10 in Shanghai
    span = Span.last_days(30, now)
    assert (span.first, span.last, span.days) == (date(2026, 10, 2), date(2026, 11, 1), 31)


def test_progress_counts_every_day_once_and_never_past_the_last() -> None:
    now = datetime(2026, 10, 31, 16, 10, tzinfo=UTC)
    span = Span.last_days(3, now)
    fleet = build_fleet(3, span.first, span.last, span.now)
    numbers = [span.day_number(e.at) for e in fleet_events(fleet, span.first, span.last)]
    assert numbers == sorted(numbers)
    assert set(numbers) == {1, 2, 3, 4} and span.days == 4
    # The counters' closing reading of the last day is stamped at the next local midnight: still the last day.
    assert span.day_number(datetime(2026, 11, 2, 0, 0, tzinfo=SHANGHAI)) == 4
    assert span.day_number(datetime(2026, 10, 28, 23, 59, tzinfo=SHANGHAI)) == 1
