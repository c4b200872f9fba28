"""Locks that make writers of the same thing take turns across processes (several workers, `cloud rederive`, the API):
each decides from what it reads only once the writer before it has committed."""

import hashlib
from typing import Any, TypeVar

from sqlalchemy import and_, func, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloud.store.models import Base

Row = TypeVar("Row", bound=Base)


def _key(scope: str, name: str) -> int:
    """A signed 64-bit key for `pg_advisory_xact_lock`; two names sharing one only take turns needlessly."""
    return int.from_bytes(hashlib.blake2b(f"{scope}:{name}".encode(), digest_size=8).digest(), "big", signed=True)


def hold_station_derivation(session: Session, station_id: str) -> None:
    """Until the caller's transaction ends, no other transaction derives this station (its days, months, spot-check
    results, veto). Without it a worker that read the events before a late one arrived could commit its results after
    another worker (or `cloud rederive`) had already stored the fresher ones, and overwrite them with no dirty mark
    left to correct it; or the API could count a veto under an appeal decision while a worker counts it without.
    PostgreSQL's transaction-scoped advisory lock; nothing on SQLite (a single host's store: see docs/reliability.md,
    "Concurrent writers")."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_key("derive", station_id))))


def hold_row(session: Session, entity: type[Base], key: Any) -> None:
    """Lock the row of `entity` with primary key `key` (a tuple for a composite key) until the caller's transaction
    ends, so a status read next (load it with `populate_existing`) is the latest and no other writer can change it
    before this transaction commits. PostgreSQL: `SELECT … FOR UPDATE`. SQLite has no row locks, and its driver opens
    the transaction at the first write: a write that changes nothing (the key set to itself) takes the database's
    write lock first, and the reads after it see every commit. A missing row locks nothing."""
    mapper = inspect(entity)
    columns = mapper.primary_key
    values = key if isinstance(key, tuple) else (key,)
    where = and_(*(column == value for column, value in zip(columns, values, strict=True)))
    if session.get_bind().dialect.name == "sqlite":
        # Columns with an `onupdate` (an `updated_at`) are set to themselves too: the lock changes nothing.
        unchanged = [columns[0], *(c for c in mapper.columns if c.onupdate is not None)]
        session.execute(update(entity).where(where).values({c: c for c in unchanged})
                        .execution_options(synchronize_session=False))
    else:
        session.execute(select(*columns).where(where).with_for_update())


def upsert_row(session: Session, entity: type[Row], keys: dict[str, Any], values: dict[str, Any]) -> Row:
    """The row of `entity` whose unique `keys` are these, with `values` set: updated if it exists, added if not. Two
    writers adding the same row at once: the second's insert waits on the unique index for the first's commit,
    fails, and (its savepoint rolled back, the rest of its transaction kept) updates the first's row, so the later
    request's values stand, as when the two come one after the other, instead of the second getting a key
    conflict."""
    query = select(entity).filter_by(**keys).with_for_update()
    row = session.scalars(query).first()
    if row is None:
        try:
            with session.begin_nested():
                row = entity(**keys, **values)
                session.add(row)
            return row
        except IntegrityError:
            row = session.scalars(query.execution_options(populate_existing=True)).one()
    for name, value in values.items():
        setattr(row, name, value)
    return row
