"""The durable outbox: every event is stored here (SQLite, WAL) before anything is sent, and deleted only after the
broker's PUBACK.

Policy when full (`max_events`): health reports are dropped oldest first (retained state: the newest per device
matters most). Flow counts, door changes, face observations
and calls are never dropped: the outbox grows past its bound rather than lose them, and says so in the log and the
heartbeat. Heartbeats enter the outbox only while the agent is disconnected (droppable: they prove it was alive
through an outage). Per-device `seq` is allocated in the same transaction as the insert (edge/outbox_seq.py), so
it survives restarts; a gap in it means a dropped health report or a real loss.

The payloads are made by edge/outbox_event.py, held events corrected by edge/outbox_held.py. When the disk is full,
edge/keeper.py decides what happens (this module only raises SQLite's error and offers `drop_droppable` and
`reserve_seq`; edge/outbox_space.py measures the room); a damaged file is replaced at start by edge/outbox_repair.py.
"""

import contextlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from edge import outbox_space
from edge.drivers.base import Reading
from edge.outbox_event import Restored, Row, droppable, encode_event
from edge.outbox_held import restamped
from edge.outbox_seq import Numbering
from station_protocol import Kind
from station_protocol.topics import device_topic

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    priority INTEGER NOT NULL,
    droppable INTEGER NOT NULL,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL,
    held INTEGER NOT NULL DEFAULT 0,
    wall REAL NOT NULL,
    mono REAL NOT NULL,
    boot TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_send ON outbox (held, priority DESC, id);
CREATE TABLE IF NOT EXISTS device_seq (device TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS device_seq_start (device TEXT PRIMARY KEY, seq INTEGER NOT NULL,
                                             provisional INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS device_state (device TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
COLUMNS = "priority, droppable, device, kind, topic, payload, retain, held, wall, mono, boot"


def boot_id() -> str:
    """This boot's id (monotonic times only compare within one boot)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


class Outbox:
    """A bounded, durable FIFO with priorities, on one SQLite file."""

    def __init__(self, path: str | Path, station: str, *, max_events: int = 200_000, fsync: bool = True,
                 wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self.station = station
        self.max_events = max_events
        # Built in one thread, used by the agent loop (one at a time): no cross-thread sharing beyond that.
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed event survives a power cut, not only a crash of the agent.
        self._db.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        self._db.executescript(_SCHEMA)
        self._boot = boot_id()
        self._depth = int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])
        self.dropped = 0
        self._wall = wall  # the wall clock the drivers stamp readings with (injected in tests)
        self._monotonic = monotonic  # this boot's elapsed time, which re-stamps held events (injected in tests)
        self._numbers = Numbering(self._db, wall)

    def close(self) -> None:
        self._db.close()

    @property
    def boot(self) -> str:
        """The boot this outbox was opened in (a held event's monotonic time only means something within it)."""
        return self._boot

    @property
    def depth(self) -> int:
        """Events waiting (including held ones)."""
        return self._depth

    def state(self, device: str) -> dict[str, Any] | None:
        """The driver state stored with `device`'s last event."""
        row = self._db.execute("SELECT state FROM device_state WHERE device = ?", (device,)).fetchone()
        return json.loads(row[0]) if row else None

    def encode(self, reading: Reading, seq: int) -> bytes:
        """The event's payload with a fresh id (validated: raises ValueError)."""
        return encode_event(self.station, reading, seq)

    def put(self, reading: Reading, *, held: bool = False, at: tuple[float, float] | None = None) -> bytes:
        """Store one reading as a protocol event (validated); returns the payload. Raises ValueError if invalid.
        `at` = (wall, monotonic) when it was read, for a reading kept in memory meanwhile (see edge/keeper.py)."""
        if not held and self._numbers.provisional:
            self.release_held()  # the clock is trusted (not held): what was numbered without it is renumbered first
        with self._transaction():
            seq = self._numbers.next(reading.device, held=held)
            payload = self.encode(reading, seq)
            self._write(reading, seq, payload, held=held, at=at)
        self._depth += 1
        return payload

    def put_numbered(self, reading: Reading, seq: int, payload: bytes, *, held: bool,
                     at: tuple[float, float] | None) -> None:
        """Store a reading whose `seq` was reserved (and payload encoded) earlier, while it waited in memory."""
        with self._transaction():
            self._write(reading, seq, payload, held=held, at=at)
        self._depth += 1

    def put_restored(self, readings: Sequence[Restored]) -> None:
        """Store readings kept in the side file at a damage stop (edge/pending.py), all in one transaction: a numbered
        one with its own seq and payload (its device numbers on above it, as after any stored event), another with its
        device's next seq; each with when it was read and in which boot, so a held one is re-stamped as usual."""
        with self._transaction() as db:
            for r in readings:
                seq = r.seq if r.seq is not None else self._numbers.next(r.device, held=r.held)
                self._numbers.set(r.device, seq)
                self._insert(1 if r.urgent else 0, r.droppable, r.device, r.kind, r.topic, r.payload(seq),
                             retain=r.kind is Kind.HEALTH, held=r.held, at=r.at, boot=r.boot)
                if r.state is not None:
                    db.execute("INSERT INTO device_state (device, state) VALUES (?, ?) "
                               "ON CONFLICT (device) DO UPDATE SET state = excluded.state", (r.device, r.state))
        self._depth += len(readings)

    def reserve_seq(self, device: str) -> int:
        """Allocate `device`'s next seq on its own: an update in place, which a full disk usually still allows, so
        that a reading kept in memory can be sent directly with a number no later event will reuse."""
        with self._transaction():
            seq = self._numbers.next(device)
            self._numbers.set(device, seq)
        return seq

    def reserve_seq_at_least(self, device: str, seq: int) -> None:
        """`device`'s numbers continue above `seq` (taken from a damaged outbox that was moved aside)."""
        self._numbers.set(device, seq)

    def first_seq(self) -> int:
        """The lowest seq any device may take next (see edge/outbox_seq.py)."""
        return self._numbers.first_seq()

    def raise_first_seq(self, floor: int) -> None:
        self._numbers.raise_first_seq(floor)

    def seqs(self) -> Mapping[str, int]:
        """Each device's last number."""
        return self._numbers.seqs()

    def first_seqs(self) -> Mapping[str, int]:
        """Each device's first number in this outbox (the clock in milliseconds when it was first heard)."""
        return self._numbers.first_seqs()

    def _write(self, reading: Reading, seq: int, payload: bytes, *, held: bool,
               at: tuple[float, float] | None) -> None:
        """The rows of one reading, in the caller's transaction."""
        kind = Kind(reading.kind)
        topic = str(device_topic(self.station, reading.device, kind))
        self._numbers.set(reading.device, seq)
        self._insert(1 if reading.urgent else 0, droppable(reading), reading.device, kind, topic, payload,
                     retain=kind is Kind.HEALTH, held=held, at=at)
        if reading.state is not None:
            self._db.execute("INSERT INTO device_state (device, state) VALUES (?, ?) "
                             "ON CONFLICT (device) DO UPDATE SET state = excluded.state",
                             (reading.device, json.dumps(dict(reading.state))))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed, or rolled back on any error (which is raised)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (e.g. after SQLITE_FULL): a second ROLLBACK would raise and
        # hide the error that matters.
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def put_heartbeat(self, topic: str, payload: bytes) -> None:
        """Keep a heartbeat the agent could not send (no connection), to go out after the backlog it says nothing
        about: it is the cloud's only proof that the agent was alive through a network outage when no door or count
        changed (a door-only station's quiet hours would otherwise be unknown, an equipment-off day). Droppable, like
        health: past the bound the oldest go first, never a count, door or call."""
        with self._transaction():
            self._insert(0, True, "agent", Kind.HEARTBEAT, topic, payload, retain=False, held=False)
        self._depth += 1

    def _insert(self, priority: int, droppable: bool, device: str, kind: Kind, topic: str, payload: bytes, *,
                retain: bool, held: bool, at: tuple[float, float] | None = None, boot: str | None = None) -> None:
        """One row, in the caller's transaction, after making room past the bound (droppable rows only)."""
        if self._depth >= self.max_events:
            self._make_room()
        self._db.execute(
            f"INSERT INTO outbox ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (priority, int(droppable), device, kind.value, topic, payload, int(retain), int(held),
             *(at or (self._wall(), self._monotonic())), boot or self._boot),
        )

    def _make_room(self) -> None:
        gone = self._db.execute(
            "DELETE FROM outbox WHERE id = (SELECT id FROM outbox WHERE droppable = 1 ORDER BY id LIMIT 1)").rowcount
        if gone:
            self._depth -= gone
            self.dropped += gone
        elif (self._depth - self.max_events) % 1000 == 0:  # say so now and then, not on every event
            log.warning("outbox holds %d events, over its bound of %d: keeping them (counts, doors and calls are "
                        "never dropped)", self._depth, self.max_events)

    def drop_droppable(self, limit: int) -> int:
        """Disk full: drop up to `limit` of the oldest droppable rows (health reports, kept heartbeats) in one go, so
        that whole pages come free for the rows that matter; returns how many went."""
        with self._transaction() as db:
            gone = db.execute("DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE droppable = 1 "
                              "ORDER BY id LIMIT ?)", (limit,)).rowcount
        self._depth -= gone
        self.dropped += gone
        return int(gone)

    @property
    def pages(self) -> int:
        """The file's size in pages (what `cap_pages` caps)."""
        return outbox_space.pages(self._db)

    def room(self) -> int:
        """Bytes the outbox can still take (edge/outbox_space.py)."""
        return outbox_space.room(self._db, self.path.parent)

    def cap_pages(self, pages: int | None) -> int:
        """Cap the file at `pages` pages: past it every insert fails as on a full disk (edge/outbox_space.py)."""
        return outbox_space.cap_pages(self._db, pages)

    def batch(self, limit: int, after: int = 0, after_urgent: int = 0) -> list[Row]:
        """Up to `limit` sendable rows: urgent ones with ids above `after_urgent`, then the others above `after`,
        oldest first (the publisher keeps one cursor per priority)."""
        query = ("SELECT id, topic, payload, retain, priority FROM outbox WHERE held = 0 AND priority = ? AND id > ? "
                 "ORDER BY id LIMIT ?")
        rows = self._db.execute(query, (1, after_urgent, limit)).fetchall()
        if len(rows) < limit:
            rows += self._db.execute(query, (0, after, limit - len(rows))).fetchall()
        return [Row(r[0], r[1], bytes(r[2]), bool(r[3]), bool(r[4])) for r in rows]

    def done(self, ids: Iterable[int]) -> None:
        """Delete acknowledged rows."""
        params = [(i,) for i in ids]
        if not params:
            return
        with self._transaction() as db:
            before = db.total_changes
            db.executemany("DELETE FROM outbox WHERE id = ?", params)
            gone = db.total_changes - before
        self._depth -= gone

    def held_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM outbox WHERE held = 1").fetchone()[0])

    def release_held(self) -> int:
        """The clock is sane again: re-stamp the held events and send them (edge/outbox_held.py); devices first
        numbered while the clock was untrusted are renumbered from the clock, their held events with them (none of
        them was sent), in the same transaction."""
        offset_now = self._wall() - self._monotonic()
        base = self._numbers.clock_ms()
        provisional = self._numbers.provisional
        rows = self._db.execute("SELECT id, payload, wall, mono, boot FROM outbox WHERE held = 1").fetchall()
        with self._transaction() as db:
            for row_id, payload, wall, mono, boot in rows:
                fixed = restamped(payload, wall, mono, boot, this_boot=self._boot, offset_now=offset_now,
                                  provisional=provisional, base=base)
                db.execute("UPDATE outbox SET payload = ?, held = 0 WHERE id = ?", (fixed, row_id))
            self._numbers.settle_provisional(base)
        provisional.clear()
        return len(rows)

    def restore(self, rows: Iterable[tuple[Any, ...]], states: Mapping[str, str]) -> int:
        """Insert rows salvaged from a damaged outbox as they were (columns of `outbox` after `id`, in order), and the
        drivers' states (JSON text by device)."""
        with self._transaction() as db:
            db.executemany("INSERT INTO device_state (device, state) VALUES (?, ?) ON CONFLICT (device) DO UPDATE SET "
                           "state = excluded.state", list(states.items()))
            count = db.executemany(f"INSERT INTO outbox ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   rows).rowcount
        self._depth += count
        return int(count)
