import hashlib
import shutil
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, Table, inspect, select, text
from sqlalchemy.exc import IntegrityError

from cloud.store.db import make_engine, make_session_factory
from cloud.store.migrate import MIGRATIONS, alembic_config, current_revisions, head_revisions, upgrade
from cloud.store.models import Alert, Base, Event, Station
from eldercare.groups import cloud

OWN_TABLES = {"stations", "station_exceptions", "devices", "events", "dead_letters", "dirty_station_days", "alerts",
              "holiday_files", "applied_exceptions"}


def _station(sid: str = "qd-huilong-01") -> Station:
    return Station(id=sid, name="回龙站", town="汇龙镇", grade="3A", weekdays="1,2,3,4,5", hours="08:30-11:30",
                   open_on_holidays=False, timezone="Asia/Shanghai")


def _diff_table(diff: Any) -> str | None:
    """The table an Alembic autogenerate diff is about (other areas' tables are theirs to check)."""
    if isinstance(diff, list):
        diff = diff[0]
    for part in diff[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if isinstance(table, Table):
            return table.name
        if isinstance(part, Table):
            return part.name
        if name is None and isinstance(part, str) and part in OWN_TABLES:
            return part
    return None


def test_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    ours = [d for d in diffs if _diff_table(d) in OWN_TABLES]
    assert ours == []
    assert set(inspect(engine).get_table_names()) >= OWN_TABLES


def test_timestamps_come_back_aware_utc_and_schedule_parses(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    ts = datetime(2026, 10, 12, 8, 31, 5, 120000, tzinfo=timezone(timedelta(hours=8)))
    with sessions.begin() as session:
        session.add(_station())
        session.flush()
        session.add(Event(id=uuid.uuid4(), ts=ts, station_id="qd-huilong-01", device_id="door-1", kind="door",
                          local_date=date(2026, 10, 12), seq=1, payload={"state": "open"}))
    with sessions() as session:
        event = session.scalars(select(Event)).one()
        assert event.ts == ts and event.ts.tzinfo is not None and event.ts.utcoffset() == timedelta(0)
        station = session.get(Station, "qd-huilong-01")
        assert station is not None
        assert station.schedule().weekdays == frozenset({1, 2, 3, 4, 5})


def test_alert_cause_key_is_unique_and_kinds_are_checked(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        session.add(_station())
    with sessions.begin() as session:
        session.add(Alert(kind="emergency_call", station_id="qd-huilong-01", cause_key="call:qd-huilong-01:c1"))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(Alert(kind="emergency_call", station_id="qd-huilong-01", cause_key="call:qd-huilong-01:c1"))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(Alert(kind="bogus", station_id="qd-huilong-01", cause_key="x"))


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    engine.dispose()


def test_upgrade_applies_every_branch_head(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    for rev in ("test_branch_a", "test_branch_b"):
        (scripts / "versions" / f"{rev}.py").write_text(
            f"from alembic import op\nimport sqlalchemy as sa\nrevision = {rev!r}\ndown_revision = '0001'\n"
            "branch_labels = None\ndepends_on = None\n"
            f"def upgrade() -> None:\n    op.create_table('t_{rev}', sa.Column('id', sa.Integer, primary_key=True))\n"
            "def downgrade() -> None:\n    pass\n"
        )
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    applied = upgrade(engine, scripts)
    assert {"test_branch_a", "test_branch_b"} <= set(applied)
    assert set(applied) == set(head_revisions()) | {"test_branch_a", "test_branch_b"}
    assert {"t_test_branch_a", "t_test_branch_b", "events"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_migrate_command_uses_data_dir_and_is_repeatable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELDERCARE_DATABASE_URL", raising=False)
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(cloud, ["migrate", "--data-dir", str(tmp_path / "d")])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "d" / "eldercare.db").exists()
    assert ", ".join(head_revisions()) in result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'd' / 'eldercare.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM stations")).scalar() == 0
    engine.dispose()


def test_migrate_reports_an_unreachable_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(cloud, ["migrate"])
    assert result.exit_code == 1
    assert "cannot migrate postgresql+psycopg://nobody@127.0.0.1:1/none" in result.output
    assert datetime.now(UTC)  # the command returned instead of hanging


def test_0004_keeps_stored_events_and_lets_them_outlive_their_station(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    event_id, ts = uuid.uuid4(), datetime(2026, 10, 12, 0, 31, tzinfo=UTC)
    payload = {"v": 1, "station": "qd-huilong-01", "state": "open", "note": "门开 \u95e8"}
    with make_session_factory(engine).begin() as session:
        # Only the columns revision 0001 has (the model's later ones, such as a station's kind or an event's
        # received_by, are not there yet).
        session.execute(text(
            "INSERT INTO stations (id, name, town, grade, weekdays, hours, open_on_holidays, timezone, created_at, "
            "updated_at) VALUES ('qd-huilong-01', '回龙站', '汇龙镇', '3A', '1,2,3,4,5', '08:30-11:30', false, "
            "'Asia/Shanghai', :at, :at)"), {"at": ts})
        session.execute(Event.__table__.insert(), {  # type: ignore[attr-defined]
            "id": event_id, "ts": ts, "station_id": "qd-huilong-01", "device_id": "door-1", "kind": "door",
            "local_date": date(2026, 10, 12), "seq": 1, "received_at": ts, "payload": payload})
    upgrade(engine)
    assert set(head_revisions()) <= set(current_revisions(engine))  # 0004 and every later revision applied
    with make_session_factory(engine).begin() as session:
        kept = session.scalars(select(Event)).one()
        assert (kept.id, kept.ts, kept.payload) == (event_id, ts, payload)
        session.delete(session.get(Station, "qd-huilong-01"))  # evidence is not cascaded away with its station
    with make_session_factory(engine)() as session:
        assert session.scalars(select(Event.id)).all() == [event_id]
    with engine.begin() as connection, pytest.raises(IntegrityError):  # a replay still conflicts on (id, ts)
        connection.execute(Event.__table__.insert(), {  # type: ignore[attr-defined]
            "id": event_id, "ts": ts, "station_id": "qd-huilong-01", "device_id": "door-1", "kind": "door",
            "local_date": date(2026, 10, 12), "received_at": ts, "payload": payload})
    engine.dispose()


def test_0005_cuts_stored_dead_letters_to_4_kib_with_size_and_hash(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
    junk, small = bytes(range(256)) * 40_000, b'{"v": 2}'  # 10 MB kept whole before
    with engine.begin() as connection:
        for payload in (junk, small):
            connection.execute(text("INSERT INTO dead_letters (received_at, topic, payload, reason) "
                                    "VALUES (:t, 'eldercare/v1/qd-a/x/door', :p, 'invalid')"),
                               {"t": datetime(2026, 10, 12, tzinfo=UTC), "p": payload})
    with engine.begin() as connection:  # not to the head: 0018_dead_letter_faces cuts binary letters further
        config.attributes["connection"] = connection
        command.upgrade(config, "0005_dead_letter_digest")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT payload, payload_size, payload_sha256 FROM dead_letters ORDER BY id"))
        stored = [(bytes(p), size, digest) for p, size, digest in rows]
    assert stored == [(junk[:4096], len(junk), hashlib.sha256(junk).hexdigest()),
                      (small, len(small), hashlib.sha256(small).hexdigest())]
    engine.dispose()

