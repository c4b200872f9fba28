"""The lost-messages table as migrated matches its model (SQLite and PostgreSQL), migrates up from 0013 with every
row of the store kept and down again, and what the ingester writes in it: the window, and every station's local days
it touches marked dirty for the worker, in each station's own zone (a loss 23:50-00:20 in Asia/Shanghai touches two
days there)."""

from datetime import UTC, date, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from cloud.ingest.losses import LOST_WHILE_AWAY, Loss, local_days, record
from cloud.store.db import make_engine
from cloud.store.ingest_losses import IngestLoss
from cloud.store.models import Base, DirtyStationDay, Station
from tests.store.migrations import migrate_to
from tests.store.test_store import _diff_table

# 2026-03-01 23:50 to 2026-03-02 00:20 in Asia/Shanghai (UTC+8).
LOST_FROM = datetime(2026, 3, 1, 15, 50, tzinfo=UTC)
LOST_TO = datetime(2026, 3, 1, 16, 20, tzinfo=UTC)
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _stations(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for sid, zone in (("qd-a", "Asia/Shanghai"), ("qd-b", "Asia/Shanghai"), ("ur-c", "Asia/Urumqi")):
            session.add(Station(id=sid, name=sid, town="汇龙镇", grade="3A", weekdays="1,2,3,4,5",
                                hours="08:30-11:30", timezone=zone))


def _dirty(engine: Engine) -> dict[tuple[str, date], int]:
    with engine.connect() as c:
        return {(s, d): g for s, d, g in c.execute(select(DirtyStationDay.station_id, DirtyStationDay.local_date,
                                                                DirtyStationDay.generation))}


def test_migration_matches_the_model_and_keeps_the_store(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate_to(engine, "0013_homecare_late_uploads")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO ingest_clients (client_id, first_connected_at, last_connected_at) VALUES ('ing-1', :at, :at)"),
            {"at": NOW})
    migrate_to(engine, "0014_ingest_losses")
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert connection.execute(text("SELECT count(*) FROM ingest_clients")).scalar_one() == 1
    assert [d for d in diffs if _diff_table(d) == "ingest_losses"] == []
    assert record(engine, Loss("ing-1", LOST_FROM, LOST_TO, LOST_WHILE_AWAY), NOW)
    migrate_to(engine, "0013_homecare_late_uploads", down=True)
    assert "ingest_losses" not in inspect(engine).get_table_names()
    assert "ingest_clients" in inspect(engine).get_table_names()
    migrate_to(engine, "heads")
    assert "ingest_losses" in inspect(engine).get_table_names()
    engine.dispose()


def test_a_loss_is_stored_and_marks_every_stations_days_in_its_zone(engine: Engine) -> None:
    _stations(engine)
    with engine.begin() as connection:  # a day already dirty from its events: its generation moves on
        connection.execute(DirtyStationDay.__table__.insert().values(  # type: ignore[attr-defined]
            station_id="qd-a", local_date=date(2026, 3, 1), generation=3, marked_at=NOW))
    assert record(engine, Loss("ing-1", LOST_FROM, LOST_TO, LOST_WHILE_AWAY), NOW)
    with Session(engine) as session:
        [row] = session.scalars(select(IngestLoss)).all()
    assert (row.client_id, row.lost_from, row.lost_to, row.reason, row.recorded_at) == (
        "ing-1", LOST_FROM, LOST_TO, "lost_while_away", NOW)
    # Midnight in Shanghai falls inside the window: both days there; Urumqi (UTC+6) is at 21:50-22:20, and its next
    # day too (a door left open over the window is carried into it), which has begun by NOW (14:00 there).
    assert _dirty(engine) == {("qd-a", date(2026, 3, 1)): 4, ("qd-a", date(2026, 3, 2)): 1,
                              ("qd-b", date(2026, 3, 1)): 1, ("qd-b", date(2026, 3, 2)): 1,
                              ("ur-c", date(2026, 3, 1)): 1, ("ur-c", date(2026, 3, 2)): 1}


def test_the_day_after_the_window_is_marked_once_it_has_begun(engine: Engine) -> None:
    """A door state from before the window is carried into the next day (the door lookback): a loss recorded days
    later marks that day too; one recorded at once marks no day that has not begun."""
    _stations(engine)
    evening = Loss("ing-1", datetime(2026, 3, 1, 11, 0, tzinfo=UTC), datetime(2026, 3, 1, 11, 30, tzinfo=UTC),
                   LOST_WHILE_AWAY)  # 19:00-19:30 in Shanghai
    assert record(engine, evening, datetime(2026, 3, 1, 11, 31, tzinfo=UTC))
    assert {d for s, d in _dirty(engine) if s == "qd-a"} == {date(2026, 3, 1)}
    assert record(engine, evening, datetime(2026, 3, 5, tzinfo=UTC))
    assert {d for s, d in _dirty(engine) if s == "qd-a"} == {date(2026, 3, 1), date(2026, 3, 2)}


def test_a_store_that_refuses_keeps_the_loss_for_the_caller(tmp_path: object) -> None:
    unmigrated = make_engine(f"sqlite:///{tmp_path}/empty.db")  # no table: the write fails like a database away
    assert record(unmigrated, Loss("ing-1", LOST_FROM, LOST_TO, LOST_WHILE_AWAY), NOW) is False


def test_local_days_of_a_window() -> None:
    assert local_days(LOST_FROM, LOST_TO, "Asia/Shanghai") == [date(2026, 3, 1), date(2026, 3, 2)]
    assert local_days(LOST_FROM, LOST_FROM + timedelta(days=2), "UTC") == [date(2026, 3, d) for d in (1, 2, 3)]
