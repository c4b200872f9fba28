"""The on-site visits table as migrated matches its model, on SQLite and PostgreSQL; its constraints hold."""

from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from cloud.store.db import make_session_factory
from cloud.store.derived import SpotCheckPlan
from cloud.store.models import Base, Station
from cloud.store.onsite import SpotCheckVisit
from tests.store.test_store import _diff_table


def test_migration_matches_the_model(engine: Engine) -> None:
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if _diff_table(d) == "spot_check_visits"] == []


@pytest.mark.parametrize("bad", [{"found": "maybe"}, {"decided_outcome": "unverifiable"}, {}])
def test_one_record_per_visit_of_known_values(engine: Engine, bad: dict[str, str]) -> None:
    now = datetime.now(UTC)
    with make_session_factory(engine)() as session:
        session.add(Station(id="qd-a", name="A", town="汇龙镇", grade="3A", weekdays="1,2,3,4,5", hours="08:30-11:30",
                            open_on_holidays=False, timezone="Asia/Shanghai"))
        plan = SpotCheckPlan(local_date=date(2026, 10, 9), start="09:00", end="10:00", scope="all",
                             stations=["qd-a"], created_by="admin", created_at=now)
        session.add(plan)
        session.flush()
        row = {"plan_id": plan.id, "station_id": "qd-a", "found": "open", "notes": "", "visited_at": now,
               "recorded_by": "li", "recorded_at": now}
        if bad:  # a value the rules do not know: refused by the database itself
            session.add(SpotCheckVisit(**(row | bad)))
        else:  # a second record of the same visit
            session.add(SpotCheckVisit(**row))
            session.commit()
            session.add(SpotCheckVisit(**row | {"found": "closed"}))
        with pytest.raises(IntegrityError):
            session.commit()
