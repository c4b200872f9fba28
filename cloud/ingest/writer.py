"""Commit a batch of converted messages in one transaction; if the store refuses part of it, go row by row.

Events are inserted with ON CONFLICT DO NOTHING (the event id is the idempotency key, on SQLite and PostgreSQL;
`events.py`). In the same transaction, for the events newly stored only: the station-days they touch are marked dirty,
devices' last-seen/health are upserted (`upserts.py`) and an emergency press raises its alert. A duplicate has no side
effects: an id already stored says nothing new, whatever its copy says (a replay edited to another call or a later
time must neither raise an alert nor move a device's health). A row the store refuses (a constraint or a value it
cannot hold) becomes a dead letter (`letters.py`); an unreachable or locked database raises `StoreUnavailable` so the
caller retries without acknowledging.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError, ProgrammingError, StatementError

from cloud.alerts import service as alerts
from cloud.convert import Accepted
from cloud.ingest.events import insert_events
from cloud.ingest.letters import Letter, insert_letters, refused
from cloud.ingest.upserts import mark_dirty, upsert_devices
from cloud.rules.alerts import pressed_alert

# Errors that mean "the database is not usable right now", not "this row is bad": retry, never dead-letter.
UNAVAILABLE = (OperationalError, InterfaceError, ProgrammingError, InternalError)


# A row the store cannot hold: a constraint, a value out of range (SQLite's driver raises OverflowError itself).
ROW_ERRORS = (StatementError, OverflowError)


class StoreUnavailable(RuntimeError):
    """The database cannot take writes now; nothing of the batch may be acknowledged."""


@dataclass(slots=True)
class BatchResult:
    """What a batch did: valid messages, events newly stored (and which), duplicates skipped, letters written, alerts
    raised."""

    accepted: list[Accepted] = field(default_factory=list)
    new: list[Accepted] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0
    letters: list[Letter] = field(default_factory=list)
    alerts: int = 0
    fell_back: bool = False


def _raise_call_alerts(connection: Connection, items: Sequence[Accepted], now: datetime) -> int:
    specs = [pressed_alert(item.station.id, call, item.device, str(item.row["id"]), item.ts,
                           item.row["received_at"], item.decoded.clock_fault, now)
             for item in items for call in (item.pressed_call,) if call is not None]
    return alerts.raise_new(connection, specs)


def _write(connection: Connection, items: Sequence[Accepted], letters: Sequence[Letter], now: datetime,
           result: BatchResult, received_by: str | None) -> None:
    new = insert_events(connection, items, received_by)
    upsert_devices(connection, new)
    mark_dirty(connection, new, now)
    result.alerts += _raise_call_alerts(connection, new, now)
    insert_letters(connection, letters)
    result.accepted += items
    result.new += new
    result.stored += len(new)
    result.duplicates += len(items) - len(new)
    result.letters += letters


def write_batch(engine: Engine, items: Sequence[tuple[Accepted, str, bytes]], letters: Sequence[Letter],
                now: datetime, received_by: str | None = None) -> BatchResult:
    """Commit a batch received by the ingester `received_by` (its MQTT client id: which of the broker's queues
    delivered it); on a row-level refusal retry row by row so only the bad rows become dead letters."""
    result = BatchResult()
    try:
        with engine.begin() as connection:
            _write(connection, [item for item, _, _ in items], letters, now, result, received_by)
        return result
    except UNAVAILABLE as exc:
        raise StoreUnavailable(str(exc).splitlines()[0]) from exc
    except ROW_ERRORS:
        result = BatchResult(fell_back=True)
    for item, topic, payload in items:
        try:
            with engine.begin() as connection:
                _write(connection, [item], [], now, result, received_by)
        except UNAVAILABLE as exc:
            raise StoreUnavailable(str(exc).splitlines()[0]) from exc
        except ROW_ERRORS as exc:
            letters = [*letters, refused(item, exc, topic, payload)]
    try:
        with engine.begin() as connection:
            insert_letters(connection, letters)
    except UNAVAILABLE as exc:
        raise StoreUnavailable(str(exc).splitlines()[0]) from exc
    result.letters += letters
    return result
