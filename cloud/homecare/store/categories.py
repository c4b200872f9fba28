"""The history of each elder's category (自理, 半失能, 失能 …): one row per version, from the day (in the elder's
zone) it applies. A reassessment is recorded on the day of the change and never starts earlier or later, so the
months before it keep the minimum they were owed, and `homecare_elders.category` is always the version in force
today. A second change on the same day replaces that day's version; a change back to the previous version on the same
day removes it. Written only by `upsert_elder` (the CSV import and the API's PUT elder). The caller commits.
"""

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloud.homecare.records import Category, CategoryVersion
from cloud.store.homecare import HomecareElderCategory

# Where the first version of an elder registered before the history was kept starts: before any day a store holds.
BACKFILL_FROM = date(1970, 1, 1)


def category_histories(session: Session, elder_ids: Iterable[str]) -> dict[str, tuple[CategoryVersion, ...]]:
    """Each elder's versions, oldest first, in one query; an elder with none recorded is absent (its current
    category then applies on every day)."""
    ids = list(elder_ids)
    found: dict[str, list[CategoryVersion]] = {}
    if ids:
        for row in session.scalars(select(HomecareElderCategory).where(HomecareElderCategory.elder_id.in_(ids))
                                   .order_by(HomecareElderCategory.effective_from)):
            found.setdefault(row.elder_id, []).append(CategoryVersion(row.effective_from, Category(row.category)))
    return {k: tuple(v) for k, v in found.items()}


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def record_category(session: Session, elder_id: str, category: Category, before: Category | None, zone: str,
                    now: datetime) -> bool:
    """Keep `category` as the elder's version from today (in `zone`) on. `before`: its category before this change
    (None for a new elder), kept as the version before today when the elder has none yet (a row written before the
    history). Returns True when the version in force from today changed. The elder's row must be flushed.

    Two edits of one elder on the same day may run at once: today's version is written by one statement that does
    not depend on what was read (an upsert, or a delete when the change goes back to the earlier version), so the
    second to commit wins, as a second edit made after the first would, instead of colliding on the key."""
    today = now.astimezone(ZoneInfo(zone)).date()
    table = cast(Table, HomecareElderCategory.__table__)
    rows = {day: Category(value) for day, value in session.execute(
        select(HomecareElderCategory.effective_from, HomecareElderCategory.category)
        .where(HomecareElderCategory.elder_id == elder_id))}
    if not rows and before is not None:
        if before == category:
            return False
        session.execute(_insert(session)(table).values(elder_id=elder_id, effective_from=BACKFILL_FROM,
                                                       category=before.value, recorded_at=now)
                        .on_conflict_do_nothing(index_elements=[table.c.elder_id, table.c.effective_from]))
        rows[BACKFILL_FROM] = before
    earlier = [day for day in rows if day < today]
    if earlier and rows[max(earlier)] == category:
        # Changed back the same day (or not changed): today is owed as before, no version of its own.
        gone = session.execute(delete(HomecareElderCategory).where(HomecareElderCategory.elder_id == elder_id,
                                                                   HomecareElderCategory.effective_from == today))
        return bool(getattr(gone, "rowcount", 0))
    if rows.get(today) == category:
        return False
    statement = _insert(session)(table).values(elder_id=elder_id, effective_from=today, category=category.value,
                                               recorded_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.elder_id, table.c.effective_from],
        set_={"category": statement.excluded.category, "recorded_at": statement.excluded.recorded_at}))
    return True
