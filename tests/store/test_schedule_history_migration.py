"""Revision 0007_schedule_history on SQLite and PostgreSQL: a store with stations and derived days is upgraded (each
station gets its current hours and grade as the version covering every stored day), the table matches its model, and
the downgrade drops only the history."""

from datetime import UTC, date, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from cloud.store.db import make_engine, make_session_factory
from cloud.store.models import Base, Station
from cloud.store.schedules import BACKFILL_FROM, StationSchedule, station_history
from tests.store.migrations import migrate_to
from tests.store.test_store import _diff_table


def test_0007_backfills_every_station_and_keeps_derived_days(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate_to(engine, "0006_homecare")  # the revision before it, with data
    with engine.begin() as connection:
        for sid, grade, hours in (("qd-a", "2A", "08:30-11:30 13:30-17:00"), ("qd-b", "4A", "08:00-12:00")):
            connection.execute(text(
                "INSERT INTO stations (id, name, town, grade, weekdays, hours, open_on_holidays, timezone, "
                "created_at, updated_at) VALUES (:id, 'a', 't', :grade, '1,2,3,4,5', :hours, false, "
                "'Asia/Shanghai', :at, :at)"), {"id": sid, "grade": grade, "hours": hours,
                                                "at": datetime(2026, 11, 1, tzinfo=UTC)})
        connection.execute(text(
            "INSERT INTO day_results (station_id, local_date, working_day, verdict, compliance, person_times, elders, "
            "record, computed_at) VALUES ('qd-a', :day, true, 'open', 1.0, 3, 2, '{}', :at)"),
            {"day": date(2024, 3, 4), "at": datetime(2026, 11, 1, tzinfo=UTC)})
    migrate_to(engine, "0007_schedule_history")
    migrate_to(engine, "0012_station_kind")  # the table as the models have it now (kinds came later)
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if _diff_table(d) == "station_schedules"] == []
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(StationSchedule).order_by(StationSchedule.station_id)).all()
        assert [(r.station_id, r.effective_from, r.weekdays, r.hours, r.open_on_holidays, r.grade) for r in rows] == [
            ("qd-a", BACKFILL_FROM, "1,2,3,4,5", "08:30-11:30 13:30-17:00", False, "2A"),
            ("qd-b", BACKFILL_FROM, "1,2,3,4,5", "08:00-12:00", False, "4A")]
        station = session.get(Station, "qd-a")
        assert station is not None
        # The stored day (2024) is covered: it is judged by the hours it was derived with.
        stored_day = session.execute(text("SELECT min(local_date) FROM day_results")).scalar()
        stored = stored_day if isinstance(stored_day, date) else date.fromisoformat(str(stored_day))
        assert stored >= BACKFILL_FROM
        assert station_history(session, station).on(stored).schedule.hours_text() == "08:30-11:30 13:30-17:00"
    migrate_to(engine, "0006_homecare", down=True)
    assert "station_schedules" not in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM stations")).scalar() == 2
        assert connection.execute(text("SELECT count(*) FROM day_results")).scalar() == 1
    migrate_to(engine, "0007_schedule_history")  # and up again
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM station_schedules")).scalar() == 2
    engine.dispose()
