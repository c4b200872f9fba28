"""The audit-log and appeals tables as migrated match their models on SQLite and PostgreSQL; a check is appealed
once (the database refuses a second appeal even if two requests race past the route's own check); the migration
reverses."""

from datetime import UTC, date, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import IntegrityError

from cloud.store.admin import Appeal
from cloud.store.db import make_session_factory
from cloud.store.derived import SpotCheckPlan
from cloud.store.migrate import alembic_config, upgrade
from cloud.store.models import Base, Station
from tests.store.test_store import _diff_table

NOW = datetime(2026, 10, 12, 2, tzinfo=UTC)


def test_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if _diff_table(d) in ("audit_log", "appeals")] == []


def test_a_second_appeal_of_one_check_is_refused_by_the_database(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        session.add(Station(id="qd-a", name="A", town="汇龙镇", grade="3A", weekdays="1,2,3,4,5", hours="08:30-11:30",
                            open_on_holidays=False, timezone="Asia/Shanghai"))
        plan = SpotCheckPlan(local_date=date(2026, 10, 9), start="09:00", end="10:00", scope="all", stations=["qd-a"],
                             created_by="admin", created_at=NOW)
        session.add(plan)
        session.commit()
        for text in ("first", "second"):
            session.add(Appeal(plan_id=plan.id, station_id="qd-a", text=text, filed_by="li", filed_at=NOW,
                               status="pending"))
            if text == "second":
                with pytest.raises(IntegrityError):
                    session.commit()
            else:
                session.commit()
        session.rollback()
        session.add(Appeal(plan_id=plan.id, station_id="qd-a", text="x", filed_by="li", filed_at=NOW,
                           status="granted"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_the_migration_reverses(engine: Engine) -> None:
    config = alembic_config()
    revision = ScriptDirectory.from_config(config).get_revision("0006_admin")
    assert revision is not None and isinstance(revision.down_revision, str)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision.down_revision)  # whatever it is chained after
    assert not {"audit_log", "appeals"} & set(inspect(engine).get_table_names())
    assert "0006_admin" in upgrade(engine)
    assert {"audit_log", "appeals"} <= set(inspect(engine).get_table_names())
