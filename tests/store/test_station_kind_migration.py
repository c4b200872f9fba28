"""Revision 0012_station_kind on SQLite and PostgreSQL: a store with stations and everything that refers to them
(events, days, months, closures, vetoes, schedule versions) is upgraded in place — nothing that refers to a station
is lost (on SQLite the table is not rebuilt: dropping it would cascade) — every existing station is a `station`, the
tables match their models, the database itself refuses a grade on a care centre or a station without one, and the
downgrade refuses while a site without a grade is registered, then restores the old columns."""

from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from cloud.store.db import make_engine
from cloud.store.models import Base
from tests.store.migrations import event_and_day, migrate_to
from tests.store.test_store import _diff_table

AT = datetime(2026, 11, 1, tzinfo=UTC)
REFERRING = ("events", "day_results", "month_results", "station_exceptions", "vetoes", "station_schedules")
TABLES = {"stations", "station_schedules", "month_results", "vetoes"}


def _insert_station(engine: Engine, sid: str, kind: str | None, grade: str | None) -> None:
    columns = "id, name, town, grade, weekdays, hours, open_on_holidays, timezone, created_at, updated_at"
    values = ":id, 'a', 't', :grade, '1,2,3,4,5', '08:30-11:30', false, 'Asia/Shanghai', :at, :at"
    if kind is not None:
        columns, values = f"{columns}, kind", f"{values}, :kind"
    with engine.begin() as connection:
        connection.execute(text(f"INSERT INTO stations ({columns}) VALUES ({values})"),
                           {"id": sid, "grade": grade, "kind": kind, "at": AT})


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in REFERRING}


def test_0012_keeps_every_referring_row_and_guards_kind_and_grade(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate_to(engine, "0010_event_received_by")
    _insert_station(engine, "qd-a", None, "3A")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO station_schedules (station_id, effective_from, weekdays, hours, open_on_holidays, grade, "
            "recorded_at) VALUES ('qd-a', :day, '1,2,3,4,5', '08:30-11:30', false, '3A', :at)"),
            {"day": date(1970, 1, 1), "at": AT})
        event_and_day(connection, "qd-a", AT)
        connection.execute(text(
            "INSERT INTO month_results (station_id, month, elders, person_times, threshold, met, at_risk, compliance, "
            "record, computed_at) VALUES ('qd-a', '2026-10', 2, 3, 100, false, true, 1.0, '{}', :at)"), {"at": AT})
        connection.execute(text(
            "INSERT INTO station_exceptions (station_id, date, reason, created_at) VALUES ('qd-a', :day, 'x', :at)"),
            {"day": date(2026, 10, 13), "at": AT})
        connection.execute(text(
            "INSERT INTO vetoes (station_id, year, failed, veto, failed_dates, updated_at) "
            "VALUES ('qd-a', 2026, 1, false, '[\"2026-10-14\"]', :at)"), {"at": AT})
    before = _counts(engine)
    assert all(before.values()), before
    migrate_to(engine, "0012_station_kind")
    assert _counts(engine) == before  # nothing cascaded away
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert [d for d in diffs if _diff_table(d) in TABLES] == []
        assert connection.execute(text("SELECT kind, grade FROM stations")).one() == ("station", "3A")
        assert connection.execute(text("SELECT kind, grade FROM station_schedules")).one() == ("station", "3A")
    _insert_station(engine, "hn-a", "care_centre", None)
    _insert_station(engine, "hn-b", "neighbourhood_point", None)
    for sid, kind, grade in (("hn-c", "care_centre", "2A"), ("qd-c", "station", None), ("hn-d", "clinic", None)):
        with pytest.raises(IntegrityError):
            _insert_station(engine, sid, kind, grade)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO month_results (station_id, month, elders, person_times, threshold, met, "
                                "at_risk, compliance, record, computed_at) VALUES ('hn-a', '2026-10', 2, 3, NULL, "
                                "NULL, NULL, 1.0, '{}', :at)"), {"at": AT})
        connection.execute(text("INSERT INTO vetoes (station_id, year, failed, veto, failed_dates, updated_at) "
                                "VALUES ('hn-a', 2026, 3, NULL, '[]', :at)"), {"at": AT})
    with pytest.raises(RuntimeError, match=r"2 care centre\(s\) or neighbourhood point\(s\) are registered"):
        migrate_to(engine, "0010_event_received_by", down=True)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM stations WHERE kind <> 'station'"))
    migrate_to(engine, "0010_event_received_by", down=True)
    assert _counts(engine) == before
    columns = {c["name"]: c for c in inspect(engine).get_columns("stations")}
    assert "kind" not in columns and columns["grade"]["nullable"] is False
    with pytest.raises(IntegrityError):
        _insert_station(engine, "qd-d", None, None)
    migrate_to(engine, "0012_station_kind")  # and up again
    assert _counts(engine) == before
    engine.dispose()
