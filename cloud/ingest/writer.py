"""Commit a batch of converted messages in one transaction; if the store refuses part of it, go row by row.

Events are inserted with ON CONFLICT DO NOTHING (the event id is the idempotency key, on SQLite and PostgreSQL).
In the same transaction: the station-days they touch are marked dirty, devices' last-seen/health are upserted and an
emergency press raises its alert. A row the store refuses (a constraint or a value it cannot hold) becomes a dead
letter; an unreachable or locked database raises `StoreUnavailable` so the caller retries without acknowledging.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, and_, case, func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError, ProgrammingError, StatementError
from sqlalchemy.sql.elements import ColumnElement

from cloud.ingest.convert import Accepted, Rejected, fold_devices
from cloud.store.models import Alert, AlertKind, AlertLevel, AlertStatus, DeadLetter, Device, DirtyStationDay, Event

EVENTS = cast(Table, Event.__table__)
DEVICES = cast(Table, Device.__table__)
DIRTY = cast(Table, DirtyStationDay.__table__)
ALERTS = cast(Table, Alert.__table__)
DEAD = cast(Table, DeadLetter.__table__)

# Errors that mean "the database is not usable right now", not "this row is bad": retry, never dead-letter.
UNAVAILABLE = (OperationalError, InterfaceError, ProgrammingError, InternalError)


class StoreUnavailable(RuntimeError):
    """The database cannot take writes now; nothing of the batch may be acknowledged."""


@dataclass(frozen=True, slots=True)
class Letter:
    """A dead letter to write: raw bytes, topic and why."""

    topic: str
    payload: bytes
    received_at: datetime
    rejected: Rejected


@dataclass(slots=True)
class BatchResult:
    """What a batch did: events newly stored, duplicates skipped, letters written, alerts raised."""

    stored: list[Accepted] = field(default_factory=list)
    duplicates: int = 0
    letters: list[Letter] = field(default_factory=list)
    alerts: int = 0
    fell_back: bool = False


def _insert(connection: Connection, table: Table) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _greatest(connection: Connection, a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    # SQLite's two-argument max() is PostgreSQL's greatest().
    return func.greatest(a, b) if connection.dialect.name == "postgresql" else func.max(a, b)


def _insert_events(connection: Connection, items: Sequence[Accepted]) -> tuple[list[Accepted], int]:
    if not items:
        return [], 0
    # No conflict target: both the (id, ts) key and the unique id (when unpartitioned) count as "already stored".
    statement = _insert(connection, EVENTS).on_conflict_do_nothing().returning(EVENTS.c.id)
    new_ids = set(connection.execute(statement, [item.row for item in items]).scalars())
    stored = []
    for item in items:
        if item.row["id"] in new_ids:
            new_ids.discard(item.row["id"])  # the same id twice in one batch is stored once
            stored.append(item)
    return stored, len(items) - len(stored)


def _upsert_devices(connection: Connection, items: Sequence[Accepted]) -> None:
    rows = [
        {"station_id": d.station_id, "device_id": d.device_id, "kind": d.kind, "first_seen_at": d.last_seen_at,
         "last_seen_at": d.last_seen_at, "last_health_ok": d.health_ok, "last_health": d.health,
         "last_health_at": d.health_at, "online": d.online}
        for d in fold_devices(list(items))
    ]
    if not rows:
        return
    statement = _insert(connection, DEVICES).values(rows)
    new, old = statement.excluded, DEVICES.c
    newer = and_(new.last_health_at.is_not(None), or_(old.last_health_at.is_(None),
                                                      new.last_health_at > old.last_health_at))
    statement = statement.on_conflict_do_update(
        index_elements=[old.station_id, old.device_id],
        set_={
            "kind": new.kind,
            "last_seen_at": _greatest(connection, old.last_seen_at, new.last_seen_at),
            "last_health_ok": case((newer, new.last_health_ok), else_=old.last_health_ok),
            "last_health": case((newer, new.last_health), else_=old.last_health),
            "last_health_at": case((newer, new.last_health_at), else_=old.last_health_at),
            "online": case((and_(newer, new.online.is_not(None)), new.online), else_=old.online),
        },
    )
    connection.execute(statement)


def _mark_dirty(connection: Connection, stored: Sequence[Accepted], now: datetime) -> None:
    # Clock-faulted events count on no day, so they dirty none.
    days = sorted({(item.station.id, item.local_date) for item in stored if item.decoded.clock_fault is None})
    if not days:
        return
    statement = _insert(connection, DIRTY).values(
        [{"station_id": s, "local_date": d, "generation": 1, "marked_at": now} for s, d in days]
    )
    statement = statement.on_conflict_do_update(
        index_elements=[DIRTY.c.station_id, DIRTY.c.local_date],
        set_={"generation": DIRTY.c.generation + 1, "marked_at": statement.excluded.marked_at},
    )
    connection.execute(statement)


def call_cause_key(station: str, call: str) -> str:
    """One alert per emergency press, however often the press is delivered."""
    return f"call:{station}:{call}"


def _raise_call_alerts(connection: Connection, items: Sequence[Accepted], now: datetime) -> int:
    rows = []
    for item in items:
        call = item.pressed_call
        if call is None:
            continue
        rows.append({
            "kind": AlertKind.EMERGENCY_CALL.value, "station_id": item.station.id,
            "cause_key": call_cause_key(item.station.id, call), "status": AlertStatus.RAISED.value,
            "level": AlertLevel.STATION.value, "raised_at": now, "call_id": call,
            "evidence": {"event_id": str(item.row["id"]), "device": item.device, "ts": item.ts.isoformat(),
                         "received_at": item.row["received_at"].isoformat(), "clock_fault": item.decoded.clock_fault},
        })
    if not rows:
        return 0
    statement = _insert(connection, ALERTS).on_conflict_do_nothing().returning(ALERTS.c.id)
    return len(connection.execute(statement, rows).all())


def _text(value: str) -> str:
    return value.replace("\x00", "\\x00")


def _insert_letters(connection: Connection, letters: Sequence[Letter]) -> None:
    if letters:
        connection.execute(DEAD.insert(), [
            # Text columns cannot hold NUL on PostgreSQL; the raw bytes keep the truth.
            {"topic": _text(lt.topic), "payload": lt.payload, "reason": _text(lt.rejected.reason),
             "received_at": lt.received_at, "station_id": lt.rejected.station_id}
            for lt in letters
        ])


def _write(connection: Connection, items: Sequence[Accepted], letters: Sequence[Letter], now: datetime,
           result: BatchResult) -> None:
    stored, duplicates = _insert_events(connection, items)
    _upsert_devices(connection, items)
    _mark_dirty(connection, stored, now)
    result.alerts += _raise_call_alerts(connection, items, now)
    _insert_letters(connection, letters)
    result.stored += stored
    result.duplicates += duplicates
    result.letters += letters


def _refused(item: Accepted, error: StatementError, topic: str, payload: bytes) -> Letter:
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    reason = f"store refused the event: {detail}"
    return Letter(topic, payload, item.row["received_at"], Rejected("store_refused", reason, item.station.id))


def write_batch(engine: Engine, items: Sequence[tuple[Accepted, str, bytes]], letters: Sequence[Letter],
                now: datetime) -> BatchResult:
    """Commit a batch; on a row-level refusal retry row by row so only the bad rows become dead letters."""
    result = BatchResult()
    try:
        with engine.begin() as connection:
            _write(connection, [item for item, _, _ in items], letters, now, result)
        return result
    except UNAVAILABLE as exc:
        raise StoreUnavailable(str(exc).splitlines()[0]) from exc
    except StatementError:
        result = BatchResult(fell_back=True)
    for item, topic, payload in items:
        try:
            with engine.begin() as connection:
                _write(connection, [item], [], now, result)
        except UNAVAILABLE as exc:
            raise StoreUnavailable(str(exc).splitlines()[0]) from exc
        except StatementError as exc:
            letters = [*letters, _refused(item, exc, topic, payload)]
    try:
        with engine.begin() as connection:
            _insert_letters(connection, letters)
    except UNAVAILABLE as exc:
        raise StoreUnavailable(str(exc).splitlines()[0]) from exc
    result.letters += letters
    return result
