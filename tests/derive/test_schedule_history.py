"""A station's hours and grade changed on the registry: days before the change, re-derived later (a late outbox
replay, `cloud rederive`), are still judged by the hours in force on them, days from it by the new ones, and each month
by the grade in force on its last day; on SQLite and PostgreSQL, through ingest and the worker.

The station opens 09:00-11:00 every day. Registered 08:00-17:00 it is mostly closed; the bureau's edit to 09:00-11:00
would make its old days look open if they were re-judged by the new hours: the way a station could game the registry
(shorten its hours, then get old days re-derived)."""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import Engine, select

from cloud.derive.calendar_store import load_calendar
from cloud.derive.rederive import rederive_range
from cloud.derive.runner import Partition, run_pass
from cloud.registry.csv_rows import parse_station_csv
from cloud.registry.store import upsert_stations
from cloud.rules.config import RulesConfig
from cloud.store.db import make_engine, make_session_factory
from cloud.store.derived import DayResult, MonthResult
from cloud.store.migrate import upgrade
from tests.derive.conftest import feed
from tests.rules.scenario import StationDay, visits_every

CONFIG = RulesConfig()
HEADER = "station_id,name,town,grade,weekdays,hours,open_on_holidays\n"
BEFORE = HEADER + "qd-a,汇龙站,汇龙镇,3A,1-5,08:00-17:00,no\n"
AFTER = HEADER + "qd-a,汇龙站,汇龙镇,2A,1-5,09:00-11:00,no\n"
# D = Thursday 15 October 2026. The edit is made at 23:30 UTC on the 14th: 07:30 on the 15th in Shanghai.
EDIT_AT = datetime(2026, 10, 14, 23, 30, tzinfo=UTC)
FIRST_PASS = datetime(2026, 10, 14, 15, 30, tzinfo=UTC)  # 23:30 on the 14th in Shanghai
SECOND_PASS = datetime(2026, 10, 16, 15, 30, tzinfo=UTC)  # 23:30 on the 16th in Shanghai
ELDERS = ["e-001", "e-002", "e-003"]


def _day(day: date) -> StationDay:
    visits = visits_every(time(9, 5), time(10, 55), 10, ELDERS, day=day)
    return StationDay("qd-a", day, door=[(time(9), time(11))], visits=visits, exits=[(time(10, 58), len(visits))])


def _late_face(day: date, elder: str) -> list[tuple[str, bytes]]:
    """One elder's face and the counter's entry of them on `day`, replayed from the station's outbox long after (its
    heartbeats are already stored)."""
    late = StationDay("qd-a", day, visits=[(time(10, 30), elder, "elder")], exits=[(time(10, 40), 1)])
    return [(topic, payload) for topic, payload in late.messages() if topic.endswith(("/face", "/flow"))]


def _import(engine: Engine, text: str, now: datetime) -> None:
    records, problems = parse_station_csv(text)
    assert problems == []
    upsert_stations(engine, records, now=now)


def _days(engine: Engine) -> dict[date, dict[str, Any]]:
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(DayResult).where(DayResult.station_id == "qd-a"))
        return {r.local_date: r.record for r in rows}


def _months(engine: Engine) -> dict[str, dict[str, Any]]:
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(MonthResult).where(MonthResult.station_id == "qd-a"))
        return {r.month: r.record for r in rows}


def _pass(engine: Engine, now: datetime) -> None:
    stats = run_pass(make_session_factory(engine), Partition(), CONFIG, now)
    assert stats.errors == 0, stats.messages


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade(eng)
    _import(eng, BEFORE, datetime(2026, 9, 1, 2, tzinfo=UTC))
    yield eng
    eng.dispose()


def test_days_before_an_edit_keep_the_hours_in_force_on_them(engine: Engine) -> None:
    received = datetime(2026, 10, 14, 15, tzinfo=UTC)
    feed(engine, [m for d in (date(2026, 9, 30), *(date(2026, 10, n) for n in (12, 13, 14))) for m in
                  _day(d).messages()], received)
    _pass(engine, FIRST_PASS)
    judged = _days(engine)[date(2026, 10, 12)]
    assert judged["evidence"]["sessions"] == ["08:00-17:00"] and judged["scheduled_minutes"] == 540
    assert judged["verdict"] != "open" and judged["compliance"] < 0.3
    assert _months(engine)["2026-09"]["grade"] == "3A"

    _import(engine, AFTER, EDIT_AT)
    # The new days, and a week-old face of D-3 and one of September replayed from the outbox.
    late = [*_late_face(date(2026, 10, 12), "e-late"), *_late_face(date(2026, 9, 30), "e-sept")]
    feed(engine, [*_day(date(2026, 10, 15)).messages(), *_day(date(2026, 10, 16)).messages(), *late],
         datetime(2026, 10, 16, 15, tzinfo=UTC))
    _pass(engine, SECOND_PASS)
    days = _days(engine)
    again = days[date(2026, 10, 12)]
    assert "e-late" in again["elder_ids"]  # it was re-derived ...
    # ... by the hours in force on it, not by the new ones: still mostly closed.
    assert again["evidence"]["sessions"] == ["08:00-17:00"] and again["scheduled_minutes"] == 540
    assert (again["verdict"], again["compliance"]) == (judged["verdict"], judged["compliance"])
    # The edit was made at 07:30 on the 15th in the station's zone (the 14th in UTC): the 14th keeps the old hours.
    assert days[date(2026, 10, 14)]["evidence"]["sessions"] == ["08:00-17:00"]
    for day in (date(2026, 10, 15), date(2026, 10, 16)):
        assert days[day]["evidence"]["sessions"] == ["09:00-11:00"], day
        assert (days[day]["scheduled_minutes"], days[day]["verdict"]) == (120, "open"), day
    # The grade changed mid-October: October is held to the grade in force on its last day, September to its own.
    months = _months(engine)
    assert "e-sept" in days[date(2026, 9, 30)]["elder_ids"]  # September was re-derived too
    assert months["2026-09"]["elders"] == len(ELDERS) + 1
    assert (months["2026-09"]["grade"], months["2026-09"]["threshold"]) == ("3A", CONFIG.threshold("3A"))
    assert (months["2026-10"]["grade"], months["2026-10"]["threshold"]) == ("2A", CONFIG.threshold("2A"))
    assert CONFIG.threshold("3A") != CONFIG.threshold("2A")
    # October's working days counted by each day's hours: 540 minutes a day before the 15th, 120 from it.
    assert months["2026-10"]["scheduled_minutes"] == sum(d["scheduled_minutes"] for k, d in days.items()
                                                         if k.month == 10)

    # `cloud rederive` over the whole range gives the same rows.
    with make_session_factory(engine)() as session:
        calendar = load_calendar(session)
    before = (_days(engine), _months(engine))
    rederive_range(make_session_factory(engine), date(2026, 9, 1), date(2026, 10, 16), ["qd-a"], CONFIG, calendar,
                   SECOND_PASS)
    after = (_days(engine), _months(engine))
    assert after == before
