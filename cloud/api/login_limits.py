"""Login limits per user name and per client address, counted atomically in the database.

Every attempt first takes a slot: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING per key, which the database
serialises on the key's row (PostgreSQL locks it; SQLite holds its write lock), so forty parallel guesses get the
counts 1 to 40 and only the first `limit` have their password checked at all. (Reading the count and writing a
failure in two statements let every parallel guess read the same count.) A successful login gives its slot back; a
window starts at its first attempt and lasts `window_s`, which is also what `Retry-After` says is left of it.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cloud.store.models import UTCDateTime
from cloud.store.users import LoginLimit

log = logging.getLogger(__name__)


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
    """Count this attempt against its address, then its user name; None when it may go ahead, else the seconds to
    wait. Each counter is committed on its own, so no attempt ever holds one counter's row while waiting for another's
    (two attempts cannot deadlock), and an address already refused does not touch (or create) user-name counters."""
    for key in (keys.address, keys.user):
        attempts, start = _upsert(session, key, now, window_s)
        session.commit()
        if attempts > limit:
            return max(1, int((start + timedelta(seconds=window_s) - now).total_seconds()) + 1)
    return None


def give_back(session: Session, keys: Keys, *, now: datetime, window_s: int) -> None:
    """A successful login: the address gets back the slot this attempt took (only that one, so logging in to one's own
    account does not buy more guesses at others'), and the user name's failures are forgotten. Then windows that are
    over are dropped, so the table holds only live counters."""
    session.execute(
        update(LoginLimit)
        .where(LoginLimit.key == keys.address, LoginLimit.attempts > 0)
        .values(attempts=LoginLimit.attempts - 1)
    )
    session.commit()
    session.execute(delete(LoginLimit).where(LoginLimit.key == keys.user))
    session.commit()
    try:
        session.execute(delete(LoginLimit).where(LoginLimit.window_start <= now - timedelta(seconds=window_s)))
        session.commit()
    except SQLAlchemyError as exc:  # housekeeping only: a lock conflict with a parallel login must not fail this one
        session.rollback()
        log.info("login limits: expired windows not dropped this time: %s", str(exc).splitlines()[0])
