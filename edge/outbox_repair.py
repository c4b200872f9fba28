"""Opening the outbox at start, and replacing it if its file is damaged (a bad SD card, a power cut on cheap flash).

A damaged outbox must not stop the station forever: a bounded `PRAGMA quick_check` finds the damage, the file (and its
-wal/-shm) is moved aside under a timestamped name for a technician (never deleted), the events that still read and
decode (also those beyond a damaged page that the index still names) are copied into a fresh outbox, and the fresh
file's numbers start above every `seq` the old one handed out (the protocol's seq is strictly increasing across
restarts): from the old `device_seq` table if it still reads, otherwise from the clock in milliseconds (`seq_floor`).
"""

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.outbox import COLUMNS, Outbox
from station_protocol import ProtocolError, decode

log = logging.getLogger(__name__)

DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
# With the clock untrusted (a Pi without RTC boots with the last saved time, possibly an hour or more behind), the
# clock floor gets this margin on top of the newest file time: far more than a station could number in between.
UNTRUSTED_MARGIN_MS = 7 * 24 * 3600 * 1000


def is_damage(exc: sqlite3.Error) -> bool:
    """'database disk image is malformed' or 'file is not a database' (not a full disk, a lock or permissions)."""
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF in DAMAGE_CODES


@dataclass
class Repair:
    """What replacing a damaged outbox did, for the log and the outbox's health report."""

    problem: str
    moved_to: Path
    salvaged: int = 0
    seq_floor: int = 0
    seqs: dict[str, int] = field(default_factory=dict)

    def message(self) -> str:
        return (f"outbox file damaged ({self.problem}): moved aside to {self.moved_to.name}, {self.salvaged} "
                "waiting events salvaged, a fresh outbox started")


def damage(path: Path, check_s: float) -> str | None:
    """Why the file at `path` is damaged, or None. A check that runs past `check_s` is cut short and taken as fine
    (a large file on a slow card; damage found later makes a query fail and the agent restart into this check)."""
    deadline = time.monotonic() + check_s
    try:
        db = sqlite3.connect(str(path), isolation_level=None)
    except sqlite3.DatabaseError as exc:
        return str(exc) if is_damage(exc) else None
    db.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
    try:
        found = [str(r[0]) for r in db.execute("PRAGMA quick_check(5)").fetchall()]
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            return str(exc)
        if getattr(exc, "sqlite_errorcode", 0) == sqlite3.SQLITE_INTERRUPT:
            log.warning("outbox %s: integrity check cut short after %.0f s: using the file unchecked", path, check_s)
        return None
    finally:
        db.close()
    return None if found == ["ok"] else "; ".join(found)[:300]


def seq_floor(now_ms: int, file_ms: int, trusted: bool) -> int:
    """The first seq of a fresh outbox when the old numbers are unreadable: the clock in milliseconds (a station
    numbers far fewer than one event a millisecond), never below the damaged files' last write; with an untrusted
    clock a week's margin on top."""
    return max(now_ms, file_ms) + (0 if trusted else UNTRUSTED_MARGIN_MS)


def _read_old(path: Path, station: str) -> tuple[dict[str, int] | None, dict[str, str], list[tuple[Any, ...]]]:
    """The old file's device_seq (None if it does not read whole), its drivers' states that read back, and the
    outbox rows that still read and decode."""
    seqs: dict[str, int] | None = None
    states: dict[str, str] = {}
    rows: list[tuple[Any, ...]] = []
    try:
        db = sqlite3.connect(str(path), isolation_level=None)
    except sqlite3.Error:
        return None, {}, []
    try:
        try:
            seqs = {str(d): int(s) for d, s in db.execute("SELECT device, seq FROM device_seq")}
        except sqlite3.Error:
            seqs = None
        try:  # a counter resumes from its last raw values instead of taking a new baseline (counts kept)
            for device, state in db.execute("SELECT device, state FROM device_state"):
                json.loads(state)
                states[str(device)] = str(state)
        except (sqlite3.Error, ValueError):
            pass
        rows = _read_rows(db)
    finally:
        db.close()
    good = []
    for row in rows:
        try:
            decoded = decode(str(row[4]), bytes(row[5]))
        except (ProtocolError, TypeError, ValueError):
            continue
        if decoded.topic.station == station:
            good.append(row)
    return seqs, states, good


def _read_rows(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
    """The outbox rows that still read, in id order: a scan up to the damage, then each row past it that the index
    still names, one by one (a row on a damaged page is skipped; the others, beyond it, still read)."""
    rows: list[tuple[Any, ...]] = []
    last = 0
    try:
        for row_id, *row in db.execute(f"SELECT id, {COLUMNS} FROM outbox ORDER BY id"):  # one at a time
            rows.append(tuple(row))
            last = row_id
        return rows
    except sqlite3.Error:
        pass
    ids: list[int] = []
    try:
        for (row_id,) in db.execute("SELECT id FROM outbox INDEXED BY outbox_send WHERE id > ?", (last,)):
            ids.append(row_id)
    except sqlite3.Error:
        pass  # the index is damaged too: the ids it gave before the damage
    for row_id in sorted(ids):
        try:
            found = db.execute(f"SELECT {COLUMNS} FROM outbox WHERE id = ?", (row_id,)).fetchone()
        except sqlite3.Error:
            continue
        if found is not None:
            rows.append(tuple(found))
    return rows


def _last_seqs(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """The highest seq of each device among salvaged rows (heartbeats have none)."""
    out: dict[str, int] = {}
    for row in rows:
        message = decode(str(row[4]), bytes(row[5])).message
        seq = getattr(message, "seq", None)
        if isinstance(seq, int):
            out[str(row[2])] = max(seq, out.get(str(row[2]), -1))
    return out


def move_aside(path: Path, wall: float) -> Path:
    """Rename the file and its -wal/-shm to `NAME.damaged-YYYYmmddTHHMMSSZ` (+ -wal/-shm: the sqlite3 shell opens
    them together); never overwrites an earlier one."""
    stamp = datetime.fromtimestamp(wall, UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("-wal", "-shm", ""):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(f"{aside}{suffix}")
    return aside


def open_outbox(path: Path, station: str, *, check_s: float, clock_trusted: bool,
                wall: Callable[[], float] = time.time, **options: Any) -> tuple[Outbox, Repair | None]:
    """The outbox at `path`, checked; a damaged one replaced (see the module's docstring)."""
    problem = damage(path, check_s) if path.exists() else None
    if problem is None:
        try:
            return Outbox(path, station, wall=wall, **options), None
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            problem = str(exc)
    return replace_damaged(path, station, problem, clock_trusted=clock_trusted, wall=wall, **options)


def replace_damaged(path: Path, station: str, problem: str, *, clock_trusted: bool,
                    wall: Callable[[], float] = time.time, **options: Any) -> tuple[Outbox, Repair]:
    old_seqs, states, rows = _read_old(path, station)
    file_ms = max((int(Path(f"{path}{s}").stat().st_mtime * 1000) for s in ("", "-wal")
                   if Path(f"{path}{s}").exists()), default=0)
    aside = move_aside(path, wall())
    repair = Repair(problem, aside, len(rows))
    outbox = Outbox(path, station, wall=wall, **options)
    last = _last_seqs(rows)
    if old_seqs is None:
        # The old numbers are unknown: every device, including ones not heard yet, starts above the floor.
        repair.seq_floor = max([seq_floor(int(wall() * 1000), file_ms, clock_trusted),
                                *(s + 1 for s in last.values())])
        outbox.raise_first_seq(repair.seq_floor)
    else:
        repair.seqs = {d: max(s, last.get(d, -1)) for d, s in {**last, **old_seqs}.items()}
        for device, seq in repair.seqs.items():
            outbox.reserve_seq_at_least(device, seq)
    outbox.restore(rows, states)
    log.error("%s; the damaged file is kept for a technician: %s", repair.message(), aside)
    return outbox, repair
