"""What the store remembers of this ingester's client id across restarts: whether it ever connected to the broker.

Read once before connecting and written once connected (on the caller's thread, never on paho's); a database that is
away makes the answer unknown, never stops the ingester."""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cloud.store.ingest_clients import IngestClient

log = logging.getLogger("eldercare.ingest")


@dataclass(frozen=True, slots=True)
class History:
    """`known` False: the store could not be read. Otherwise when the client id last connected, last stopped
    gracefully and was last seen working, and the session expiry its last connection asked for (all None: it never
    connected; the last two also for a connection before the store kept them)."""

    known: bool
    last_connected_at: datetime | None = None
    last_stopped_at: datetime | None = None
    last_alive_at: datetime | None = None
    session_expiry_s: int | None = None

    @property
    def first_start(self) -> bool:
        return self.known and self.last_connected_at is None


UNKNOWN = History(known=False)


def history(engine: Engine, client_id: str) -> History:
    try:
        with Session(engine) as session:
            row = session.get(IngestClient, client_id)
    except SQLAlchemyError as exc:
        log.warning("could not read this client id's history from the store", extra={"reason": str(exc)[:300]})
        return UNKNOWN
    if row is None:
        return History(True)
    return History(True, row.last_connected_at, row.last_stopped_at, row.last_alive_at, row.session_expiry_s)


def note_connected(engine: Engine, client_id: str, now: datetime, session_expiry_s: int | None) -> None:
    try:
        with Session(engine) as session, session.begin():
            row = session.get(IngestClient, client_id)
            if row is None:
                session.add(IngestClient(client_id=client_id, first_connected_at=now, last_connected_at=now,
                                         last_alive_at=now, session_expiry_s=session_expiry_s))
            else:
                row.last_connected_at = row.last_alive_at = now
                row.session_expiry_s = session_expiry_s
    except SQLAlchemyError as exc:
        log.warning("could not record this client id's connection in the store", extra={"reason": str(exc)[:300]})


def _set(engine: Engine, client_id: str, level: int, failed: str, **values: datetime) -> bool:
    """Update this client id's row; False, logged at `level` with `failed`, when the store refused."""
    try:
        with Session(engine) as session, session.begin():
            session.execute(update(IngestClient).where(IngestClient.client_id == client_id).values(**values))
    except SQLAlchemyError as exc:
        log.log(level, failed, extra={"reason": str(exc)[:300]})
        return False
    return True


def note_alive(engine: Engine, client_id: str, now: datetime) -> bool:
    """Record that the ingester is connected and working at `now`; False (logged at debug) when the store refused:
    the next try comes soon enough, and nothing but a loss window's start depends on it."""
    return _set(engine, client_id, logging.DEBUG, "could not record in the store that this client id is working",
                last_alive_at=now)


def note_stopped(engine: Engine, client_id: str, now: datetime) -> None:
    _set(engine, client_id, logging.WARNING, "could not record this client id's stop in the store",
         last_stopped_at=now)


def forget(engine: Engine, client_id: str) -> None:
    """The client id left its group with its session ended and empty: should it ever connect again, that is a first
    start, with nothing lost."""
    try:
        with Session(engine) as session, session.begin():
            session.execute(delete(IngestClient).where(IngestClient.client_id == client_id))
    except SQLAlchemyError as exc:
        log.warning("could not record in the store that this client id left", extra={"reason": str(exc)[:300]})
