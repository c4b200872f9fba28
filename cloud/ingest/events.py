"""Insert a batch's events, each id stored once, with one constant statement per batch and dialect.

The hot path bypasses per-value type processing: the payload goes in as convert encoded it. PostgreSQL gets the batch
as one JSON document (a multi-row VALUES list would be a new long query text for every batch, which psycopg re-parses
each time); SQLite gets a plain executemany in the formats SQLAlchemy reads back (UUID as 32 hex digits, UTC
timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff').

Both say which events were new: a duplicate (a redelivery, a replay, a copy someone edited) must have no side effects,
so the writer applies the batch's devices, station-days and alerts for those alone.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, text

from cloud.convert import Accepted

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
    "payload json) WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = r.id) ON CONFLICT DO NOTHING RETURNING id"
)
SQLITE_EVENTS = (
    "INSERT INTO events (id, ts, station_id, device_id, kind, local_date, seq, received_at, received_by, "
    "clock_fault, payload) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?11, ?9, ?10 WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = ?1) "
    "ON CONFLICT DO NOTHING"
)
# sqlite3's executemany returns no rows (RETURNING is no use there). Each row it inserts takes the table's largest
# rowid plus one while the transaction holds the write lock, so a batch's new rows are the `rowcount` rowids ending at
# last_insert_rowid(); asked only when some of the batch were duplicates.
SQLITE_NEW_IDS = "SELECT id FROM events WHERE rowid > last_insert_rowid() - ? AND rowid <= last_insert_rowid()"


@lru_cache(maxsize=4096)
def _second_text(year: int, month: int, day: int, hour: int, minute: int, second: int) -> str:
    # The messages of a batch share a few seconds, and datetime's own formatting costs about twice a look-up here
    # and the microseconds (two times a row).
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}."


def _utc_text(value: datetime) -> str:
    """`value` in UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's SQLite format; PostgreSQL reads it with an
    offset added)."""
    if value.tzinfo is not UTC:  # convert() gives times in the standard library's UTC; anything else is converted
        value = value.astimezone(UTC)
    return (_second_text(value.year, value.month, value.day, value.hour, value.minute, value.second)
            + f"{value.microsecond:06d}")


def _pg_row(item: Accepted) -> str:
    # Formatted directly (json.dumps of a dict per row cost more than the rest of the row): ids and kinds are
    # protocol-validated ([a-z0-9-], UUIDs), times ISO 8601, seq an int; only the clock-fault text needs quoting.
    r = item.row
    seq = "null" if r["seq"] is None else int(r["seq"])
    fault = "null" if r["clock_fault"] is None else json.dumps(r["clock_fault"])
    return (f'{{"id": "{r["id"]}", "ts": "{_utc_text(r["ts"])}+00:00", "station_id": "{r["station_id"]}", '
            f'"device_id": "{r["device_id"]}", "kind": "{r["kind"]}", "local_date": "{r["local_date"].isoformat()}", '
            f'"seq": {seq}, "received_at": "{_utc_text(r["received_at"])}+00:00", "clock_fault": {fault}, '
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


def insert_events(connection: Connection, items: Sequence[Accepted], received_by: str | None) -> list[Accepted]:
    """Insert the batch's events, as received by the ingester `received_by`; returns those that were new (the first
    copy of each id not stored before), in batch order."""
    if not items:
        return []
    firsts = _first_of_each_id(items)
    if connection.dialect.name == "postgresql":
        # One statement sees the table as it was before it: an id twice in the batch would pass the probe twice.
        result = connection.execute(PG_EVENTS, {"rows": f"[{','.join(map(_pg_row, firsts))}]",
                                                "received_by": received_by})
        new_ids = set(result.scalars())
        return firsts if len(new_ids) == len(firsts) else [item for item in firsts if item.row["id"] in new_ids]
    rows = [
        (r["id"].hex, _utc_text(r["ts"]), r["station_id"], r["device_id"], r["kind"], r["local_date"].isoformat(),
         r["seq"], _utc_text(r["received_at"]), r["clock_fault"], item.payload_text, received_by)
        for item in items
        for r in (item.row,)
    ]
    stored = int(connection.exec_driver_sql(SQLITE_EVENTS, rows).rowcount)
    if stored == len(items):
        return list(items)  # all new (so all ids distinct): the common case costs no query
    if stored == 0:
        return []
    stored_hex = set(connection.exec_driver_sql(SQLITE_NEW_IDS, (stored,)).scalars())
    return [item for item in firsts if item.row["id"].hex in stored_hex]
