"""The readings that waited in memory when a damaged outbox stopped the agent, kept in a side file until the next start.

When the outbox file is found damaged while the agent runs, the agent stops (edge/agent.py) and the check at the next
start replaces the file (edge/outbox_repair.py). What waited in memory (`Spill`: the reading whose write found the
damage, and any kept there while the card was full) would die with the process, so `save` writes it first to
`NAME.pending.jsonl` beside the outbox: one JSON line per reading, appended to what an earlier stop left there,
written to a temporary file, fsynced, renamed over the old one and the folder fsynced (a power cut leaves the old
file or the new one, never half of one). At the next start, after the outbox's check, `restore` stores those
readings in the outbox in one transaction and only then deletes the side file.

A line holds the reading's protocol payload (`payload`, as the publisher would send it) and its topic. A reading
numbered while it waited (`numbered: true`) keeps its event id and seq: it may have reached the broker from memory
already, and the cloud stores an id once. One that could not be numbered (the damage kept its seq from being
reserved, or it was held while the clock was untrusted) carries seq 0 in its payload and takes its device's next
number when restored. `held`, `wall`, `mono` and `boot` let the clock guard re-stamp a reading read while the clock
was untrusted exactly as if it had been stored then (edge/outbox_held.py); `state` is the driver state stored with
it (a counter resumes from it instead of counting again what the reading holds). Its `ts` is never changed here.

Each line is checked on the way back with the protocol package (`decode`) and must name this station; a line that
does not (a torn write, a file from another station's card) is skipped, counted and reported, never a stop.
"""

import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.outbox import Outbox
from edge.outbox_event import Restored, droppable_kind
from edge.spill import Kept
from station_protocol import Event, Kind, ProtocolError, decode, encode

log = logging.getLogger(__name__)


def side_file(outbox: Path) -> Path:
    """Where the readings kept at a damage stop wait for the next start: beside the outbox."""
    return outbox.with_name(f"{outbox.name}.pending.jsonl")


def line(entry: Kept, outbox: Outbox) -> bytes:
    """One reading waiting in memory as a line of the side file."""
    numbered = entry.payload is not None and entry.seq is not None
    payload = entry.payload if entry.payload is not None else outbox.encode(entry.reading, 0)
    data: dict[str, Any] = {
        "topic": entry.topic, "payload": payload.decode(), "numbered": numbered, "urgent": entry.reading.urgent,
        "held": entry.held, "wall": entry.at[0], "mono": entry.at[1], "boot": outbox.boot,
        "state": dict(entry.reading.state) if entry.reading.state is not None else None,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def save(path: Path, lines: Iterable[bytes]) -> int:
    """Append `lines` to the side file at `path`, atomically (temp file, fsync, rename, fsync of the folder); returns
    how many. Raises OSError (a full or read-only card): the caller counts them lost."""
    new = [raw if raw.endswith(b"\n") else raw + b"\n" for raw in lines]
    if not new:
        return 0
    old = path.read_bytes() if path.exists() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"  # a line torn by hand or by the card stays one bad line, not two
    temp = path.with_name(f"{path.name}.tmp")
    try:
        with temp.open("wb") as out:
            out.write(old + b"".join(new))
            out.flush()
            os.fsync(out.fileno())
        temp.replace(path)
    except OSError:
        temp.unlink(missing_ok=True)  # a full card: what was written of it would only take the room
        raise
    sync_folder(path.parent)
    return len(new)


def sync_folder(folder: Path) -> None:
    """Make a rename or delete in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Pending:
    """What the start did with a side file: readings stored in the outbox, lines skipped, and why (None: all fine)."""

    path: Path
    restored: int
    skipped: int
    problem: str | None = None

    def detail(self) -> dict[str, int | str]:
        """For the outbox's health report at start."""
        detail: dict[str, int | str] = {"pending_restored": self.restored, "pending_skipped": self.skipped}
        if self.problem is not None:
            detail["pending_problem"] = self.problem[:300]
        return detail


def parse(text: bytes, station: str) -> tuple[list[Restored], list[str]]:
    """The side file's readings that decode and name `station`, and why each other line was skipped."""
    good: list[Restored] = []
    bad: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            good.append(_restored(json.loads(raw), station))
        except (ValueError, TypeError, KeyError, ProtocolError) as exc:
            bad.append(f"line {number}: {type(exc).__name__}: {str(exc)[:200]}")
    return good, bad


def _restored(data: dict[str, Any], station: str) -> Restored:
    decoded = decode(str(data["topic"]), str(data["payload"]))
    message = decoded.message
    if not isinstance(message, Event):
        raise ValueError(f"{decoded.topic.kind.value} is not a reading")
    if decoded.topic.station != station:
        raise ValueError(f"for station {decoded.topic.station!r}, this is {station!r}")
    numbered = data["numbered"] is True
    state = data.get("state")
    if state is not None and not isinstance(state, dict):
        raise ValueError("state is not an object")
    kind = Kind(decoded.topic.kind)
    raw = str(data["payload"]).encode()
    return Restored(
        device=message.device, kind=kind, topic=str(data["topic"]), droppable=droppable_kind(kind, message.device),
        seq=message.seq if numbered else None,
        payload=(lambda _seq: raw) if numbered else (lambda seq: encode(message.model_copy(update={"seq": seq}))),
        urgent=data["urgent"] is True, held=data["held"] is True, at=(float(data["wall"]), float(data["mono"])),
        boot=str(data["boot"]), state=json.dumps(state) if state is not None else None)


def restore(outbox: Outbox, path: Path) -> Pending | None:
    """Store the side file's readings in `outbox` (one transaction), then delete the file; None if there is none.
    If the outbox cannot take them (a full card), the file stays for the next start and `problem` says why."""
    if not path.exists():
        return None
    try:
        good, bad = parse(path.read_bytes(), outbox.station)
    except OSError as exc:
        log.error("readings kept at the last stop in %s do not read (%s): left there for a technician", path, exc)
        return Pending(path, 0, 0, f"side file does not read: {exc}")
    for why in bad:
        log.error("reading kept at the last stop in %s skipped: %s", path, why)
    try:
        outbox.put_restored(good)
    except (sqlite3.Error, ValueError) as exc:  # a full card, or a payload that no longer encodes: keep the file
        log.error("readings kept at the last stop in %s could not be stored in the outbox (%s: %s): the file stays "
                  "for the next start", path, type(exc).__name__, exc)
        return Pending(path, 0, len(bad), f"not stored in the outbox: {type(exc).__name__}: {exc}")
    path.unlink()
    sync_folder(path.parent)
    log.warning("%d readings kept at the last stop in %s stored in the outbox with their ids%s", len(good), path,
                f"; {len(bad)} lines skipped" if bad else "")
    return Pending(path, len(good), len(bad))
