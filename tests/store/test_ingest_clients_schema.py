"""The ingest client table as migrated matches its model (SQLite and PostgreSQL), and what the ingester reads and
writes in it: nothing for a client id never seen, its connections and graceful stops, and no answer (rather than a
wrong one, or a crash) when the database is away."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from cloud.ingest.clients import UNKNOWN, forget, history, note_alive, note_connected, note_stopped
from cloud.store.db import make_engine
from cloud.store.models import Base
from tests.store.migrations import migrate_to
from tests.store.test_store import _diff_table

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_migration_matches_the_model_and_downgrades(engine: Engine) -> None:
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if _diff_table(d) == "ingest_clients"] == []
    migrate_to(engine, "0010_event_received_by", down=True)
    assert "ingest_clients" not in inspect(engine).get_table_names()
    migrate_to(engine, "heads")
    assert "ingest_clients" in inspect(engine).get_table_names()


def test_a_client_ids_connections_and_stops(engine: Engine) -> None:
    first = history(engine, "ing-1")
    assert first.known and first.first_start
    note_connected(engine, "ing-1", T0, 3600)
    note_stopped(engine, "ing-1", T0 + timedelta(hours=1))
    note_connected(engine, "ing-1", T0 + timedelta(days=1), 3600)
    again = history(engine, "ing-1")
    assert not again.first_start
    assert (again.last_connected_at, again.last_stopped_at) == (T0 + timedelta(days=1), T0 + timedelta(hours=1))
    assert history(engine, "ing-2").first_start  # each client id its own
    assert (again.last_alive_at, again.session_expiry_s) == (T0 + timedelta(days=1), 3600)
    assert note_alive(engine, "ing-1", T0 + timedelta(days=3))  # still working two days later, then it crashed
    crashed = history(engine, "ing-1")
    assert (crashed.last_connected_at, crashed.last_alive_at) == (T0 + timedelta(days=1), T0 + timedelta(days=3))
    forget(engine, "ing-1")  # it left its group, its session ended empty
    assert history(engine, "ing-1").first_start


def test_a_store_it_cannot_read_gives_no_answer(tmp_path: Path) -> None:
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no table: the read fails like a database away
    assert history(unmigrated, "ing-1") == UNKNOWN and not UNKNOWN.first_start
    note_connected(unmigrated, "ing-1", T0, 3600)  # logged, not raised: the ingester goes on
    assert not note_alive(unmigrated, "ing-1", T0)
    note_stopped(unmigrated, "ing-1", T0)
    forget(unmigrated, "ing-1")
