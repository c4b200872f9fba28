"""Login limits per user name and per client address, counted atomically in the database.

Every attempt first takes a slot: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING per key, which the database
serialises on the key's row (PostgreSQL locks it; SQLite holds its write lock), so forty parallel guesses get the
counts 1 to 40 and only the first `limit` are checked at all. Reading the count and writing a failure in two
statements let every parallel guess read the same count. A successful login gives its slot back; a window starts at
its first attempt and lasts `window_s`, which is also what `Retry-After` says is left of it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cloud.store.models import UTCDateTime
from cloud.store.users import LoginLimit


@dataclass(frozen=True)
class Keys:
    """The counters one attempt takes a slot in: its user name and its client address."""

    user: str
    address: str

    @classmethod
    def of(cls, name: str, address: str) -> "Keys":
        return cls(user=f"user:{name[:150]}", address=f"addr:{address[:150]}")


def _upsert(session: Session, key: str, now: datetime, window_s: int) -> tuple[int, datetime]:
    """Take a slot in `key`'s window (a new window when the last one is over); its number and the window's start."""
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stamp = literal(now, UTCDateTime())
    expired = LoginLimit.window_start <= literal(now - timedelta(seconds=window_s), UTCDateTime())
    statement = (
        insert(LoginLimit)
        .values(key=key, window_start=now, attempts=1)
        .on_conflict_do_update(
            index_elements=[LoginLimit.key],
            set_={
                "attempts": case((expired, 1), else_=LoginLimit.attempts + 1),
                "window_start": case((expired, stamp), else_=LoginLimit.window_start),
            },
        )
        .returning(LoginLimit.attempts, LoginLimit.window_start)
    )
    attempts, start = session.execute(statement).one()
    return int(attempts), start


def take_slot(session: Session, keys: Keys, *, now: datetime, limit: int, window_s: int) -> int | None:
    """Count this attempt against both keys and commit; None when it may go ahead, else the seconds to wait."""
    waits = []
    for key in (keys.user, keys.address):  # always this order, so two attempts never wait on each other's rows
        attempts, start = _upsert(session, key, now, window_s)
        if attempts > limit:
            waits.append(max(1, int((start + timedelta(seconds=window_s) - now).total_seconds()) + 1))
    session.commit()
    return max(waits) if waits else None


def give_back(session: Session, keys: Keys, *, now: datetime, window_s: int) -> None:
    """A successful login: the user's failures are forgotten, and the address gets back the slot this attempt took
    (only that one, so logging in to one's own account does not buy more guesses at others'). Also drops windows
    that are over, so the table holds only live counters."""
    session.execute(delete(LoginLimit).where(LoginLimit.key == keys.user))
    session.execute(
        update(LoginLimit)
        .where(LoginLimit.key == keys.address, LoginLimit.attempts > 0)
        .values(attempts=LoginLimit.attempts - 1)
    )
    session.execute(delete(LoginLimit).where(LoginLimit.window_start <= now - timedelta(seconds=window_s)))
    session.commit()
