"""Revision 0008_elder_period on SQLite and PostgreSQL: a store with elders is upgraded (each keeps no period, so
its months are judged whole), the table matches its model, a period can be stored, and the downgrade drops only the
two columns."""

from datetime import UTC, date, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from cloud.homecare.config import HomecareConfig
from cloud.homecare.service_period import month_requirement
from cloud.homecare.store.registry import elder_record
from cloud.store.db import make_engine, make_session_factory
from cloud.store.homecare import HomecareElder
from cloud.store.models import Base
from tests.store.migrations import migrate_to
from tests.store.test_store import _diff_table


def test_0008_keeps_existing_elders_whole_months_and_downgrades(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate_to(engine, "0007_schedule_history")  # the revision before it, with data
    at = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO homecare_providers (id, name, town, phone, active, created_at, updated_at) "
            "VALUES ('p-a', '康乐', '汇龙镇', '', true, :at, :at)"), {"at": at})
        for eid, category in (("e-1", "disabled"), ("e-2", "high_age")):
            connection.execute(text(
                "INSERT INTO homecare_elders (id, name, category, town, address, provider_id, package, timezone, "
                "active, created_at, updated_at) VALUES (:id, '张', :category, '汇龙镇', '', 'p-a', '', "
                "'Asia/Shanghai', true, :at, :at)"), {"id": eid, "category": category, "at": at})
    migrate_to(engine, "0008_elder_period")
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if _diff_table(d) == "homecare_elders"] == []
    with make_session_factory(engine).begin() as session:
        row = session.get(HomecareElder, "e-1")
        assert row is not None and (row.since, row.until) == (None, None)
        assert month_requirement(elder_record(row), "2026-11", HomecareConfig()) == 4  # a whole month, as before
        row.since = date(2026, 11, 25)
    with make_session_factory(engine)() as session:
        row = session.get(HomecareElder, "e-1")
        assert row is not None and row.since == date(2026, 11, 25)
        assert month_requirement(elder_record(row), "2026-11", HomecareConfig()) == 1
    migrate_to(engine, "0007_schedule_history", down=True)
    columns = {c["name"] for c in inspect(engine).get_columns("homecare_elders")}
    assert "since" not in columns and "until" not in columns and "category" in columns
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM homecare_elders")).scalar() == 2
    migrate_to(engine, "0008_elder_period")  # and up again
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM homecare_elders WHERE since IS NULL")).scalar() == 2
    engine.dispose()
