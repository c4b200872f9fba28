"""The closures table as migrated matches its model, on SQLite and PostgreSQL; its constraints hold."""

from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from cloud.store.closures import Closure
from cloud.store.db import make_session_factory
from cloud.store.models import Base, Station
from tests.store.test_store import _diff_table


def test_migration_matches_the_model(engine: Engine) -> None:
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if _diff_table(d) == "closures"] == []


def test_a_range_that_ends_before_it_starts_is_refused(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        session.add(Station(id="qd-a", name="A", town="汇龙镇", grade="3A", weekdays="1,2,3,4,5", hours="08:30-11:30",
                            open_on_holidays=False, timezone="Asia/Shanghai"))
        session.commit()
        session.add(Closure(station_id="qd-a", first_day=date(2026, 10, 9), last_day=date(2026, 10, 8), reason="x",
                            status="requested", requested_by="li", requested_at=datetime.now(UTC), late_days=[]))
        with pytest.raises(IntegrityError):
            session.commit()
