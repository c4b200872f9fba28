"""Revision 0017_elder_category_history on SQLite and PostgreSQL: a store with elders is upgraded (each gets its
current category as the version covering every day, so its months are owed as before), the table matches its model,
a reassessment after it leaves the earlier months alone, and the downgrade drops only the history."""

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from cloud.homecare.config import HomecareConfig
from cloud.homecare.records import Category, Elder
from cloud.homecare.service_period import month_requirement
from cloud.homecare.store.categories import BACKFILL_FROM
from cloud.homecare.store.registry import elder_records, upsert_elder
from cloud.store.db import make_engine, make_session_factory
from cloud.store.homecare import HomecareElder, HomecareElderCategory
from cloud.store.models import Base
from tests.store.migrations import migrate_to
from tests.store.test_store import _diff_table


def test_0017_gives_every_elder_its_category_from_the_start_and_downgrades(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate_to(engine, "0016_time_checks_asked")  # the revision before it, with data
    at = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO homecare_providers (id, name, town, phone, active, created_at, updated_at) "
            "VALUES ('p-a', '康乐', '汇龙镇', '', true, :at, :at)"), {"at": at})
        for eid, category in (("e-1", "self_care"), ("e-2", "disabled")):
            connection.execute(text(
                "INSERT INTO homecare_elders (id, name, category, town, address, provider_id, package, timezone, "
                "active, created_at, updated_at) VALUES (:id, '张', :category, '汇龙镇', '', 'p-a', '', "
                "'Asia/Shanghai', true, :at, :at)"), {"id": eid, "category": category, "at": at})
    migrate_to(engine, "0017_elder_category_history")
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if _diff_table(d) == "homecare_elder_categories"] == []
    with make_session_factory(engine).begin() as session:
        rows = session.scalars(select(HomecareElderCategory).order_by(HomecareElderCategory.elder_id)).all()
        assert [(r.elder_id, r.effective_from, r.category) for r in rows] == [
            ("e-1", BACKFILL_FROM, "self_care"), ("e-2", BACKFILL_FROM, "disabled")]
        # Reassessed on 1 July 2026 (Shanghai): June stays owed as a self-care month, July is a disabled one.
        upsert_elder(session, Elder("e-1", "张", Category.DISABLED, "汇龙镇", "p-a"),
                     datetime(2026, 6, 30, 16, 30, tzinfo=UTC))
    with make_session_factory(engine)() as session:
        elder, = elder_records(session, session.scalars(select(HomecareElder).where(HomecareElder.id == "e-1")))
        config = HomecareConfig()
        assert [month_requirement(elder, m, config) for m in ("2026-06", "2026-07")] == [1, 4]
    migrate_to(engine, "0016_time_checks_asked", down=True)
    assert "homecare_elder_categories" not in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert [tuple(r) for r in connection.execute(text("SELECT id, category FROM homecare_elders ORDER BY id"))] == [
            ("e-1", "disabled"), ("e-2", "disabled")]
    migrate_to(engine, "0017_elder_category_history")  # and up again
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM homecare_elder_categories")).scalar() == 2
    engine.dispose()

