"""Revision 0009_plan_planner on SQLite and PostgreSQL: existing plans made by a town user become the town's, every
other plan stays the bureau's, the column matches its model, and the downgrade drops only it."""

from datetime import UTC, date, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from cloud.store.db import make_engine
from cloud.store.models import Base
from tests.store.migrations import migrate_to
from tests.store.test_store import _diff_table

AT = datetime(2026, 11, 1, tzinfo=UTC)


def test_0009_makes_the_plans_of_town_users_the_towns(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate_to(engine, "0008_elder_period")
    with engine.begin() as connection:
        for name, role in (("admin", "bureau"), ("town-hl", "town")):
            connection.execute(text("INSERT INTO users (name, role, password_hash, active, created_at) "
                                    "VALUES (:name, :role, 'x', true, :at)"), {"name": name, "role": role, "at": AT})
        for created_by in ("admin", "town-hl", "someone-gone"):
            connection.execute(text(
                "INSERT INTO spot_check_plans (local_date, start, \"end\", scope, stations, created_by, created_at) "
                "VALUES (:day, '09:00', '10:00', 'stations', '[\"qd-a\"]', :by, :at)"),
                {"day": date(2026, 10, 14), "by": created_by, "at": AT})
    migrate_to(engine, "0009_plan_planner")
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert [d for d in diffs if _diff_table(d) == "spot_check_plans"] == []
        rows = connection.execute(text("SELECT created_by, planner_role FROM spot_check_plans ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("admin", "bureau"), ("town-hl", "town"), ("someone-gone", "bureau")]
    migrate_to(engine, "0008_elder_period", down=True)
    columns = {c["name"] for c in inspect(engine).get_columns("spot_check_plans")}
    assert "planner_role" not in columns and "created_by" in columns
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM spot_check_plans")).scalar() == 3
    engine.dispose()
