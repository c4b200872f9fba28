"""The catch-up's selection (`cloud.derive.catchup.due`): which owed days are not final yet, by the station's zone."""

from datetime import UTC, date, datetime, timedelta

from cloud.derive.catchup import Owed, day_over, due

SHANGHAI = "Asia/Shanghai"
NEW_YORK = "America/New_York"
D = date(2026, 9, 21)


def test_a_day_is_due_until_derived_after_its_local_midnight() -> None:
    owed = [Owed("qd-a", SHANGHAI, D)]
    midnight = day_over(D, SHANGHAI)
    assert midnight == datetime(2026, 9, 21, 16, tzinfo=UTC)
    # 23:59:59 in Shanghai: the day still runs, nothing is owed yet.
    assert due(owed, {}, midnight - timedelta(seconds=1)) == ({}, {})
    # A second after midnight: derived while it ran (a minute before its end), it is due; derived at midnight, final.
    now = midnight + timedelta(seconds=1)
    assert due(owed, {"qd-a": {D: midnight - timedelta(minutes=1)}}, now) == ({"qd-a": [D]}, {})
    assert due(owed, {"qd-a": {D: midnight}}, now) == ({}, {"qd-a": D})
    assert due(owed, {}, now) == ({"qd-a": [D]}, {})  # never derived at all


def test_the_zone_decides_which_day_is_yesterday() -> None:
    now = datetime(2026, 9, 22, 3, tzinfo=UTC)  # 11:00 on the 22nd in Shanghai, 23:00 on the 21st in New York
    owed = [Owed("qd-a", SHANGHAI, D), Owed("ny-a", NEW_YORK, D - timedelta(days=1))]
    todo, final = due(owed, {}, now)
    assert todo == {"qd-a": [D], "ny-a": [D - timedelta(days=1)]}
    assert final == {}


def test_final_through_stops_at_the_first_day_not_final() -> None:
    now = day_over(D + timedelta(days=4), SHANGHAI) + timedelta(hours=1)  # the 26th, 01:00
    stored = {D + timedelta(days=n): day_over(D + timedelta(days=n), SHANGHAI) for n in (0, 1, 3, 4)}
    todo, final = due([Owed("qd-a", SHANGHAI, D)], {"qd-a": stored}, now)
    assert todo == {"qd-a": [D + timedelta(days=2)]}
    assert final == {"qd-a": D + timedelta(days=1)}


def test_at_most_limit_days_a_pass_oldest_first() -> None:
    now = day_over(D + timedelta(days=9), SHANGHAI)
    owed = [Owed("qd-a", SHANGHAI, D), Owed("qd-b", SHANGHAI, D)]
    todo, _ = due(owed, {"qd-b": {D: now}}, now, limit=4)
    assert todo == {"qd-a": [D + timedelta(days=n) for n in range(4)]}
    todo, final = due(owed, {"qd-b": {D: now}}, now, limit=12)
    assert todo["qd-a"] == [D + timedelta(days=n) for n in range(10)]
    assert todo["qd-b"] == [D + timedelta(days=n) for n in range(1, 3)]
    assert final == {"qd-b": D}  # its first day final; the next left for the pass after


def test_nothing_owed_before_it_is_owed() -> None:
    now = day_over(D, SHANGHAI) + timedelta(hours=1)
    assert due([Owed("qd-a", SHANGHAI, D + timedelta(days=1))], {}, now) == ({}, {})


def test_a_station_registered_long_ago_owes_only_the_last_two_months() -> None:
    """The first pass after an upgrade does not re-derive (and alert on) a year of silent days at once."""
    from types import SimpleNamespace

    from cloud.derive.catchup import LOOKBACK_DAYS, owed_since

    now = datetime(2026, 12, 4, 1, tzinfo=UTC)  # 09:00 on 4 December in Shanghai
    old = SimpleNamespace(created_at=datetime(2025, 1, 1, tzinfo=UTC), timezone=SHANGHAI)
    assert owed_since(old, now, None) == date(2026, 12, 4) - timedelta(days=LOOKBACK_DAYS)  # type: ignore[arg-type]
    assert LOOKBACK_DAYS >= 62  # the month just ended and the one before, whole
    recent = SimpleNamespace(created_at=datetime(2026, 11, 20, 16, tzinfo=UTC), timezone=SHANGHAI)
    assert owed_since(recent, now, None) == date(2026, 11, 21)  # type: ignore[arg-type]
    # Raw events kept 30 days: the cut-off falls on 4 November, the first whole day kept is the 5th.
    assert owed_since(old, now, 30) == date(2026, 11, 5)  # type: ignore[arg-type]
