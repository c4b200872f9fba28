"""What `eldercare cloud rederive` tells its user as it goes (SQLite and PostgreSQL): the days figures add up to the
days asked for; the neighbouring days it re-derives on the way are named apart."""

import re
from datetime import date

import pytest
from sqlalchemy import Engine

from cloud.derive.rederive import rederive_store
from cloud.derive.runner import Partition, run_pass
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from tests.derive.conftest import feed
from tests.derive.test_worker import NOW  # 23:30 on 16 October in Shanghai


def _rederive(store: Engine, monkeypatch: pytest.MonkeyPatch, first: date, last: date) -> tuple[int, list[str]]:
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", store.url.render_as_string(hide_password=False))
    lines: list[str] = []
    total = rederive_store(first, last, [], RulesConfig(), None, lines.append, now=NOW)
    return total, lines


def _station_figures(lines: list[str]) -> list[int]:
    return [int(m[1]) for line in lines if (m := re.match(r"station \d+/\d+ \S+ \d{4}-\d\d: (\d+) days?", line))]


def test_two_days_asked_are_two_days_reported(store: Engine, messages: list[tuple[str, bytes]],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    feed(store, messages)
    run_pass(make_session_factory(store), Partition(), RulesConfig(), NOW)  # every day so far derived once
    total, lines = _rederive(store, monkeypatch, date(2026, 10, 12), date(2026, 10, 13))
    # 12 and 13 October for each of the two stations; the 14th is re-derived too (a door left open on the 13th
    # carries over), and said apart rather than added in.
    assert total == 4
    assert lines == [
        "station 1/2 qd-a 2026-10: 2 days (and 1 day beyond the range, 2026-10-14: the day after carries a door left "
        "open overnight; a month is judged on all its days)",
        "station 2/2 qd-b 2026-10: 2 days (and 1 day beyond the range, 2026-10-14: the day after carries a door left "
        "open overnight; a month is judged on all its days)",
        "done: 4 days of 2 stations, 2026-10-12..2026-10-13 (and 2 days beyond the range)",
    ]


def test_a_range_across_a_month_end_counts_each_day_once(store: Engine, messages: list[tuple[str, bytes]],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    feed(store, messages)
    # 30 September to 1 October, nothing derived before: a month is judged on all its days, so the run derives the
    # rest of September and of October so far (to the 16th), and 1 October twice: as the day after 30 September
    # and in October's own chunk. Each station-day of the range is counted once, the others apart, once.
    total, lines = _rederive(store, monkeypatch, date(2026, 9, 30), date(2026, 10, 1))
    assert total == 4 == sum(_station_figures(lines))
    assert lines[:2] == [
        "station 1/2 qd-a 2026-09: 1 day (and 44 days beyond the range, 2026-09-01..2026-09-29, 2026-10-02..2026-10-16:"
        " the day after carries a door left open overnight; a month is judged on all its days)",
        "station 1/2 qd-a 2026-10: 1 day",  # its days beyond were derived, and named, with September's
    ]
    assert lines[-1] == "done: 4 days of 2 stations, 2026-09-30..2026-10-01 (and 88 days beyond the range)"


def test_a_range_within_what_is_derived_has_nothing_beyond(store: Engine, messages: list[tuple[str, bytes]],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    feed(store, messages)
    run_pass(make_session_factory(store), Partition(), RulesConfig(), NOW)
    # Up to today (the 16th, in Shanghai): no day after it to carry over to, no day of the month left underived.
    total, lines = _rederive(store, monkeypatch, date(2026, 10, 1), date(2026, 10, 31))
    assert total == 32
    assert lines == ["station 1/2 qd-a 2026-10: 16 days", "station 2/2 qd-b 2026-10: 16 days",
                     "done: 32 days of 2 stations, 2026-10-01..2026-10-31"]
