"""Locks that make writers of the same thing take turns across processes (several workers, `cloud rederive`, the API).

PostgreSQL only: its transaction-scoped advisory locks are held until the transaction ends, and a statement run after
taking one sees every commit made before it was granted. SQLite needs none: it has one writer at a time, and a
transaction whose reads another writer's commit made stale is refused when it tries to write (the caller rolls back
and its work stays to be done)."""

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def _key(scope: str, name: str) -> int:
    """A signed 64-bit key for `pg_advisory_xact_lock`; two names sharing one only take turns needlessly."""
    return int.from_bytes(hashlib.blake2b(f"{scope}:{name}".encode(), digest_size=8).digest(), "big", signed=True)


def hold_station_derivation(session: Session, station_id: str) -> None:
    """Until the caller's transaction ends, no other transaction derives this station (its days, months, spot-check
    results, veto). Without it a worker that read the events before a late one arrived could commit its results after
    another worker (or `cloud rederive`) had already stored the fresher ones, and overwrite them with no dirty mark
    left to correct it; or the API could count a veto under an appeal decision while a worker counts it without."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_key("derive", station_id))))
