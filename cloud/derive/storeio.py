"""Reading what the rules need from the store, and upserting what they produce. The only SQL of the derivations."""

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import DateTime, Dialect, Row, String, Table, Text, TypeDecorator, select, type_coerce
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cloud.rules.config import RulesConfig
from cloud.rules.intervals import Interval
from cloud.rules.losses import READINGS
from cloud.rules.observations import Obs, from_row, from_stored
from cloud.store.ingest_losses import IngestLoss
from cloud.store.models import DirtyStationDay, Event, StationException

_EVENT_COLUMNS = (Event.ts, Event.kind, Event.device_id, Event.id, Event.payload, Event.clock_fault,
                  Event.local_date, Event.received_at, Event.received_by)


class _IdText(TypeDecorator[str]):
    """An event id read as its canonical text (what `str(uuid.UUID)` gives) without a `uuid.UUID` built per row only
    to be printed: SQLite keeps the 32 hex digits (the `Uuid` type's storage there), PostgreSQL's driver gives a
    UUID."""

    impl = String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if isinstance(value, str) and len(value) == 32:
            value = value.lower()
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
        return None if value is None else str(value if isinstance(value, uuid.UUID) else uuid.UUID(value))


# What `load_obs` reads of each event: `_EVENT_COLUMNS` with the id as text, the two times as the driver gives them
# (naive UTC on SQLite, aware on PostgreSQL), not tagged with a zone per row only to be turned into seconds, and the
# payload as the driver gives it (decoded by `_payload`).
_OBS_COLUMNS = (type_coerce(Event.ts, DateTime(timezone=True)), Event.kind, Event.device_id,
                type_coerce(Event.id, _IdText), type_coerce(Event.payload, Text), Event.clock_fault, Event.local_date,
                type_coerce(Event.received_at, DateTime(timezone=True)), Event.received_by)
_EPOCH, _EPOCH_UTC, _SECOND = datetime(1970, 1, 1), datetime(1970, 1, 1, tzinfo=UTC), timedelta(seconds=1)


def _payload(value: Any) -> Any:
    """A stored payload as the JSON type reads it: SQLite's text decoded here, PostgreSQL's JSONB by its driver."""
    return json.loads(value) if isinstance(value, str) else value


def load_obs(session: Session, station: str, start: float, end: float,
             kinds: Sequence[str] = ()) -> tuple[list[Obs], dict[date, int]]:
    """A station's observations in [start, end) epoch seconds (only of `kinds` if given), sorted by (time, id), and
    clock faults per day."""
    query = select(*_OBS_COLUMNS).where(
        Event.station_id == station,
        Event.ts >= datetime.fromtimestamp(start, UTC), Event.ts < datetime.fromtimestamp(end, UTC))
    if kinds:
        query = query.where(Event.kind.in_(list(kinds)))
    # On the session's connection, in its transaction, without the ORM's row handling: plain columns, the bulk of
    # the worker's reading (the events hold nothing the session has pending, so nothing needs flushing first).
    rows = session.connection().execute(query.order_by(Event.ts, Event.id)).all()
    obs: list[Obs] = []
    append = obs.append
    faults: dict[date, int] = defaultdict(int)
    for ts, kind, device, event_id, payload, fault, local_date, received_at, received_by in rows:
        if fault is not None:
            faults[local_date] += 1  # an untrustworthy timestamp counts nowhere, but is reported
            continue
        # A timedelta over one second is its microseconds over a million, as `timestamp()` and `total_seconds()`
        # compute it: the same floats as `from_row` gives.
        t = (ts - (_EPOCH if ts.tzinfo is None else _EPOCH_UTC)) / _SECOND
        lag = max(0.0, (received_at - ts) / _SECOND) if received_at is not None else 0.0
        append(from_stored(t, lag, kind, device, event_id, _payload(payload), received_by))
    # ORDER BY (ts, id) is already `sort_key` order: UUIDs compare as their hex text on SQLite and bytewise on
    # PostgreSQL, both the order of their canonical strings. No second sort.
    return obs, dict(faults)


def neighbour_readings(session: Session, station: str, before: float, after: float) -> list[Obs]:
    """A station's last reading (door, counter, face or call; no clock fault) stamped before `before` and its first
    stamped at or after `after`, if any: between them and what lies inside, a backlog sent later may have been lost
    (cloud.rules.losses.backlog_gaps). Two probes of the (station, ts) index."""
    readings = (Event.station_id == station, Event.kind.in_(sorted(READINGS)), Event.clock_fault.is_(None))
    found = []
    for where, order in ((Event.ts < datetime.fromtimestamp(before, UTC), (Event.ts.desc(), Event.id.desc())),
                         (Event.ts >= datetime.fromtimestamp(after, UTC), (Event.ts, Event.id))):
        row = session.execute(select(*_EVENT_COLUMNS).where(*readings, where).order_by(*order).limit(1)).first()
        if row is not None:
            ts, kind, device, event_id, payload, _, _, received_at, received_by = row
            found.append(from_row(ts, kind, device, str(event_id), payload, received_at, received_by))
    return found


def trusted_beats(station: str) -> tuple[Any, ...]:
    """The WHERE of a station's heartbeats that carry their boot, stamped by a trusted clock (no `clock: unsynced`,
    no clock fault): those cloud.rules.clock_steps compares. On SQLite and PostgreSQL alike."""
    return (Event.station_id == station, Event.kind == "heartbeat", Event.clock_fault.is_(None),
            Event.payload["boot"].as_string().is_not(None), Event.payload["clock"].as_string().is_(None))


def neighbour_beats(session: Session, station: str, before: float, after: float, start: float, end: float,
                    config: RulesConfig) -> list[Obs]:
    """A station's last trusted heartbeat with a boot stamped before `before` and its first at or after `after`, if
    within `clock_step_context_days` of `start` and `end` (the first day's start, the last day's end): a step of its
    clock between one of them and a heartbeat of the days flags those days (cloud.rules.clock_steps). Two probes of
    the (station, ts) index, each reading heartbeats only as far as that reach."""
    reach = config.clock_step_context_days * 86400
    found = []
    for where, order in (((Event.ts < datetime.fromtimestamp(before, UTC),
                           Event.ts >= datetime.fromtimestamp(start - reach, UTC)), (Event.ts.desc(), Event.id.desc())),
                         ((Event.ts >= datetime.fromtimestamp(after, UTC),
                           Event.ts < datetime.fromtimestamp(end + reach, UTC)), (Event.ts, Event.id))):
        row = session.execute(select(*_EVENT_COLUMNS).where(*trusted_beats(station), *where)
                              .order_by(*order).limit(1)).first()
        if row is not None:
            ts, kind, device, event_id, payload, _, _, received_at, received_by = row
            found.append(from_row(ts, kind, device, str(event_id), payload, received_at, received_by))
    return found


def anchor_rows(session: Session, station: str, devices: Iterable[str], start: float, end: float,
                config: RulesConfig) -> list[Row[Any]]:
    """For each of `devices`: its nearest reading received promptly (within `late_delivery_minutes`) before `start`
    and its nearest at or after `end` (epoch seconds), within `sequence_context_days`: the anchors outside the loaded
    window that a late reading's sequence number must fit between (cloud.rules.sequence). Two indexed queries per
    device, each walking back (or on) from the window's edge only until it meets a prompt one. Rows as `load_obs`
    reads them (its columns), clock faults left out (they count nowhere)."""
    limit = timedelta(minutes=config.late_delivery_minutes)
    reach = timedelta(days=config.sequence_context_days)
    lo, hi = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    out: list[Row[Any]] = []
    for device in sorted(set(devices)):
        mine = select(*_EVENT_COLUMNS).where(Event.station_id == station, Event.device_id == device,
                                             Event.seq.is_not(None), Event.clock_fault.is_(None))
        for query in (mine.where(Event.ts < lo, Event.ts >= lo - reach).order_by(Event.ts.desc(), Event.id.desc()),
                      mine.where(Event.ts >= hi, Event.ts < hi + reach).order_by(Event.ts, Event.id)):
            result = session.execute(query.execution_options(yield_per=100))
            try:
                for row in result:
                    if row.received_at - row.ts <= limit:
                        out.append(row)
                        break
            finally:
                result.close()  # a server-side cursor on PostgreSQL: closed before the next query, not when collected
    return out


def load_anchors(session: Session, station: str, devices: Iterable[str], start: float,
                 end: float, config: RulesConfig) -> list[Obs]:
    """`anchor_rows` as observations."""
    return [from_row(ts, kind, device, str(event_id), payload, received_at, received_by)
            for ts, kind, device, event_id, payload, _, _, received_at, received_by
            in anchor_rows(session, station, devices, start, end, config)]


def load_losses(session: Session, start: float, end: float | None) -> list[Interval]:
    """The windows (epoch seconds) in which the platform lost messages that share a moment with [start, end) (`end`
    None: to this day)."""
    query = (select(IngestLoss.lost_from, IngestLoss.lost_to)
             .where(IngestLoss.lost_to > datetime.fromtimestamp(start, UTC)))
    if end is not None:
        query = query.where(IngestLoss.lost_from < datetime.fromtimestamp(end, UTC))
    rows = session.execute(query.order_by(IngestLoss.lost_from, IngestLoss.lost_to))
    return [(lost_from.timestamp(), lost_to.timestamp()) for lost_from, lost_to in rows]


def load_exceptions(session: Session, station: str) -> dict[date, str]:
    rows = session.execute(select(StationException.date, StationException.reason)
                           .where(StationException.station_id == station))
    return {day: reason for day, reason in rows}


def upsert(session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert or update by primary key, on SQLite and PostgreSQL alike."""
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(table)
    update = {c: statement.excluded[c] for c in rows[0] if c not in keys}
    # The rows as parameters (executemany), not as one multi-row VALUES: an INSERT … ON CONFLICT is compiled at every
    # execution (SQLAlchemy caches none), and a month of rows in VALUES made that compilation grow with them.
    session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=update), list(rows))


def mark_dirty(session: Session, station: str, days: Iterable[date], now: datetime) -> None:
    """Ask the worker to recompute these station-days: call it after recording an exception or changing anything
    else a day's result depends on besides its events. The caller commits."""
    rows = [{"station_id": station, "local_date": d, "generation": 1, "marked_at": now} for d in sorted(set(days))]
    if not rows:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, DirtyStationDay.__table__)
    statement = insert(table).values(rows)
    session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.station_id, table.c.local_date],
        set_={"generation": table.c.generation + 1, "marked_at": statement.excluded.marked_at}))
