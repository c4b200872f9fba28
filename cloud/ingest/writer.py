"""Commit a batch of converted messages in one transaction; if the store refuses part of it, go row by row.

Events are inserted with ON CONFLICT DO NOTHING (the event id is the idempotency key, on SQLite and PostgreSQL).
In the same transaction: the station-days they touch are marked dirty, devices' last-seen/health are upserted and an
emergency press raises its alert. A row the store refuses (a constraint or a value it cannot hold) becomes a dead
letter; an unreachable or locked database raises `StoreUnavailable` so the caller retries without acknowledging.
"""

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    Date,
    Engine,
    String,
    Table,
    and_,
    bindparam,
    case,
    column,
    func,
    or_,
    select,
    text,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError, ProgrammingError, StatementError
from sqlalchemy.sql.elements import ColumnElement

from cloud.alerts import service as alerts
from cloud.convert import Accepted, Rejected, fold_devices
from cloud.rules.alerts import pressed_alert
from cloud.store.models import DeadLetter, Device, DirtyStationDay, Event

EVENTS = cast(Table, Event.__table__)
DEVICES = cast(Table, Device.__table__)
DIRTY = cast(Table, DirtyStationDay.__table__)
DEAD = cast(Table, DeadLetter.__table__)

# Errors that mean "the database is not usable right now", not "this row is bad": retry, never dead-letter.
UNAVAILABLE = (OperationalError, InterfaceError, ProgrammingError, InternalError)


# A row the store cannot hold: a constraint, a value out of range (SQLite's driver raises OverflowError itself).
ROW_ERRORS = (StatementError, OverflowError)


# A dead letter keeps the start of its payload (enough to see what a device sent), its full size and a SHA-256 of
# the whole: an 8 MB junk message costs 4 KiB, and a payload the device still holds can be matched to its letter.
LETTER_KEEP_BYTES = 4096
LETTER_TOPIC_CHARS = 1024  # a topic may be 64 KiB; no valid one is longer than ~150 characters
LETTER_REASON_CHARS = 4096


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
    """What a batch did: valid messages, events newly stored, duplicates skipped, letters written, alerts raised."""

    accepted: list[Accepted] = field(default_factory=list)
    stored: int = 0
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


# The hot path bypasses per-value type processing: one constant statement per batch, the payload as convert encoded it.
# PostgreSQL gets the batch as one JSON document (a multi-row VALUES list would be a new long query text for every
# batch, which psycopg re-parses each time); SQLite gets a plain executemany in the formats SQLAlchemy reads back
# (UUID as 32 hex digits, UTC timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff').
# An id is stored once whatever its ts (the protocol's idempotency rule): a replay conflicts on the (id, ts) key,
# and the NOT EXISTS probe, which walks the same primary-key index (id leads it), refuses an id already stored at
# another ts. A probe instead of a unique index on id alone: a second index cost more per row (migration 0004), and a
# probe also holds on a table partitioned by ts, where such an index cannot exist. Its one gap: the same id with two
# different ts committed at the same instant by two ingesters, which only a broken device produces.
PG_EVENTS = text(
    "INSERT INTO events (id, ts, station_id, device_id, kind, local_date, seq, received_at, received_by, "
    "clock_fault, payload) "
    "SELECT id, ts, station_id, device_id, kind, local_date, seq, received_at, CAST(:received_by AS varchar), "
    "clock_fault, payload "
    "FROM json_to_recordset(CAST(:rows AS json)) AS r(id uuid, ts timestamptz, station_id varchar, "
    "device_id varchar, kind varchar, local_date date, seq bigint, received_at timestamptz, clock_fault text, "
    "payload json) WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = r.id) ON CONFLICT DO NOTHING"
)
SQLITE_EVENTS = (
    "INSERT INTO events (id, ts, station_id, device_id, kind, local_date, seq, received_at, received_by, "
    "clock_fault, payload) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?11, ?9, ?10 WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = ?1) "
    "ON CONFLICT DO NOTHING"
)


def _sqlite_ts(value: datetime) -> str:
    # Via the standard library's UTC: formatting a datetime whose tzinfo is pydantic's costs twice as much. The
    # receive time is in it already.
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def _pg_row(item: Accepted) -> str:
    # Formatted directly (json.dumps of a dict per row cost more than the rest of the row): ids and kinds are
    # protocol-validated ([a-z0-9-], UUIDs), times ISO 8601, seq an int; only the clock-fault text needs quoting.
    r = item.row
    seq = "null" if r["seq"] is None else int(r["seq"])
    fault = "null" if r["clock_fault"] is None else json.dumps(r["clock_fault"])
    return (f'{{"id": "{r["id"]}", "ts": "{r["ts"].isoformat()}", "station_id": "{r["station_id"]}", '
            f'"device_id": "{r["device_id"]}", "kind": "{r["kind"]}", "local_date": "{r["local_date"].isoformat()}", '
            f'"seq": {seq}, "received_at": "{r["received_at"].isoformat()}", "clock_fault": {fault}, '
            f'"payload": {item.payload_text}}}')


def _first_of_each_id(items: Sequence[Accepted]) -> list[Accepted]:
    seen: set[Any] = set()
    firsts = []
    for item in items:
        event_id = item.row["id"]
        if event_id not in seen:
            seen.add(event_id)
            firsts.append(item)
    return firsts


def _insert_events(connection: Connection, items: Sequence[Accepted], received_by: str | None) -> int:
    """Insert the batch's events, as received by the ingester `received_by`; returns how many were new."""
    if not items:
        return 0
    if connection.dialect.name == "postgresql":
        # One statement sees the table as it was before it: an id twice in the batch would pass the probe twice.
        result = connection.execute(PG_EVENTS, {"rows": f"[{','.join(map(_pg_row, _first_of_each_id(items)))}]",
                                                "received_by": received_by})
    else:
        rows = [
            (r["id"].hex, _sqlite_ts(r["ts"]), r["station_id"], r["device_id"], r["kind"], r["local_date"].isoformat(),
             r["seq"], _sqlite_ts(r["received_at"]), r["clock_fault"], item.payload_text, received_by)
            for item in items
            for r in (item.row,)
        ]
        result = connection.exec_driver_sql(SQLITE_EVENTS, rows)
    return int(result.rowcount)


def _upsert_devices(connection: Connection, items: Sequence[Accepted]) -> None:
    devices = fold_devices(list(items))
    if not devices:
        return
    if connection.dialect.name == "postgresql":
        # One statement for the batch's devices (an executemany is one statement execution per device on the server).
        rows = json.dumps([
            {"station_id": d.station_id, "device_id": d.device_id, "kind": d.kind,
             "last_seen_at": _iso(d.last_seen_at), "last_health_ok": d.health_ok, "last_health": d.health,
             "last_health_at": _iso(d.health_at), "online": d.online}
            for d in devices
        ])
        connection.execute(_statement(connection, _device_upsert), {"rows": rows})
        return
    # One fixed statement run with many parameter sets: compiled once, not once per batch shape.
    connection.execute(_statement(connection, _device_upsert), [
        {"station_id": d.station_id, "device_id": d.device_id, "kind": d.kind, "first_seen_at": d.last_seen_at,
         "last_seen_at": d.last_seen_at, "last_health_ok": d.health_ok, "last_health": d.health,
         "last_health_at": d.health_at, "online": d.online}
        for d in devices
    ])


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# Built once per dialect, on first use (building one costs ~0.3 ms: as much as writing dozens of rows).
_STATEMENTS: dict[tuple[str, Callable[[Connection], Any]], Any] = {}


def _statement(connection: Connection, build: Callable[[Connection], Any]) -> Any:
    key = (connection.dialect.name, build)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build(connection)
    return statement


def _recordset(**columns: Any) -> Any:
    """PostgreSQL: the rows of the JSON array bound as `rows`, typed by the server as these columns."""
    source = func.json_to_recordset(sql_cast(bindparam("rows", type_=String), JSON))
    return source.table_valued(*(column(name, type_) for name, type_ in columns.items())).render_derived(
        "r", with_types=True)


def _device_upsert(connection: Connection) -> Any:
    statement = _insert(connection, DEVICES)
    if connection.dialect.name == "postgresql":
        stamp = postgresql.TIMESTAMP(timezone=True)
        rows = _recordset(station_id=String(), device_id=String(), kind=String(), last_seen_at=stamp,
                          last_health_ok=Boolean(), last_health=postgresql.JSONB(), last_health_at=stamp,
                          online=Boolean())
        r = rows.c
        statement = statement.from_select(
            ["station_id", "device_id", "kind", "first_seen_at", "last_seen_at", "last_health_ok", "last_health",
             "last_health_at", "online"],
            select(r.station_id, r.device_id, r.kind, r.last_seen_at, r.last_seen_at, r.last_health_ok, r.last_health,
                   r.last_health_at, r.online))
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
    return statement


def _mark_dirty(connection: Connection, items: Sequence[Accepted], now: datetime) -> None:
    # Clock-faulted events count on no day, so they dirty none. Replayed duplicates mark their day again: harmless.
    days = sorted({(item.station.id, item.local_date) for item in items if item.decoded.clock_fault is None})
    if not days:
        return
    if connection.dialect.name == "postgresql":
        marked = now.isoformat()
        rows = json.dumps([{"station_id": s, "local_date": d.isoformat(), "marked_at": marked} for s, d in days])
        connection.execute(_statement(connection, _dirty_upsert), {"rows": rows})
        return
    connection.execute(_statement(connection, _dirty_upsert),
                       [{"station_id": s, "local_date": d, "generation": 1, "marked_at": now} for s, d in days])


def _dirty_upsert(connection: Connection) -> Any:
    statement = _insert(connection, DIRTY)
    if connection.dialect.name == "postgresql":
        rows = _recordset(station_id=String(), local_date=Date(), marked_at=postgresql.TIMESTAMP(timezone=True))
        statement = statement.from_select(["station_id", "local_date", "generation", "marked_at"],
                                          select(rows.c.station_id, rows.c.local_date, sql_cast(1, BigInteger),
                                                 rows.c.marked_at))
    return statement.on_conflict_do_update(
        index_elements=[DIRTY.c.station_id, DIRTY.c.local_date],
        set_={"generation": DIRTY.c.generation + 1, "marked_at": statement.excluded.marked_at},
    )


def _raise_call_alerts(connection: Connection, items: Sequence[Accepted], now: datetime) -> int:
    specs = [pressed_alert(item.station.id, call, item.device, str(item.row["id"]), item.ts,
                           item.row["received_at"], item.decoded.clock_fault, now)
             for item in items for call in (item.pressed_call,) if call is not None]
    return alerts.raise_new(connection, specs)


def _text(value: str, limit: int) -> str:
    if len(value) > limit:
        value = value[:limit] + f"… ({len(value)} characters)"
    return value.replace("\x00", "\\x00")


def letter_row(letter: Letter) -> dict[str, Any]:
    """The `dead_letters` row for a letter: at most LETTER_KEEP_BYTES of the payload, with its size and hash."""
    payload = letter.payload
    return {
        # Text columns cannot hold NUL on PostgreSQL; the payload's bytes keep the truth.
        "topic": _text(letter.topic, LETTER_TOPIC_CHARS), "reason": _text(letter.rejected.reason, LETTER_REASON_CHARS),
        "payload": payload[:LETTER_KEEP_BYTES], "payload_size": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "received_at": letter.received_at, "station_id": letter.rejected.station_id,
    }


def _insert_letters(connection: Connection, letters: Sequence[Letter]) -> None:
    if letters:
        connection.execute(DEAD.insert(), [letter_row(lt) for lt in letters])


def _write(connection: Connection, items: Sequence[Accepted], letters: Sequence[Letter], now: datetime,
           result: BatchResult, received_by: str | None) -> None:
    stored = _insert_events(connection, items, received_by)
    _upsert_devices(connection, items)
    _mark_dirty(connection, items, now)
    result.alerts += _raise_call_alerts(connection, items, now)
    _insert_letters(connection, letters)
    result.accepted += items
    result.stored += stored
    result.duplicates += len(items) - stored
    result.letters += letters


def _refused(item: Accepted, error: Exception, topic: str, payload: bytes) -> Letter:
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    reason = f"store refused the event: {detail}"
    return Letter(topic, payload, item.row["received_at"], Rejected("store_refused", reason, item.station.id))


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
            letters = [*letters, _refused(item, exc, topic, payload)]
    try:
        with engine.begin() as connection:
            _insert_letters(connection, letters)
    except UNAVAILABLE as exc:
        raise StoreUnavailable(str(exc).splitlines()[0]) from exc
    result.letters += letters
    return result
