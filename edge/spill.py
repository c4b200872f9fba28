"""What the agent keeps in memory while the outbox cannot store (disk full, a failing file): a bounded FIFO.

Entries numbered already (their `seq` reserved in the outbox, their payload encoded) can be sent directly by the
publisher, which reads them after the outbox's rows through `batch` with a cursor of its own and confirms them with
`done`, like outbox rows. Their row ids start at `MEMORY_BASE`, far above any outbox row id, so one `done` list
serves both. Past the bound, health reports go first; then a device's oldest flow reading is folded into its next
(the people stay counted); then, and only then, the oldest entry is dropped (counted as lost).
"""

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from edge.drivers.base import Reading
from edge.outbox_event import Row, droppable
from station_protocol import Kind

log = logging.getLogger(__name__)

MEMORY_BASE = 1 << 62


@dataclass(slots=True)
class Kept:
    """One reading waiting in memory: when it was read (wall, monotonic) and, once reserved, its seq and payload."""

    key: int
    reading: Reading
    held: bool
    at: tuple[float, float]
    topic: str
    seq: int | None = None
    payload: bytes | None = None

    @property
    def droppable(self) -> bool:
        return droppable(self.reading)


class Spill:
    """The bounded in-memory queue (`limit` readings)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[int, Kept] = {}  # insertion order is FIFO order
        self._next = MEMORY_BASE
        self.dropped = 0  # health reports dropped past the bound
        self.lost = 0  # counts, door changes, faces or calls dropped past the bound (the worst case)
        self.merged = 0  # flow readings folded into their device's next one past the bound (no count lost)
        self.sent = 0  # entries the broker acknowledged straight from memory

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Kept]:
        return iter(list(self._entries.values()))

    def add(self, reading: Reading, *, held: bool, at: tuple[float, float], topic: str) -> Kept:
        if len(self._entries) >= self.limit:
            self._make_room()
        self._next += 1
        entry = self._entries[self._next] = Kept(self._next, reading, held, at, topic)
        return entry

    def _make_room(self) -> None:
        victim = next((e for e in self._entries.values() if e.droppable), None)
        if victim is not None:
            self.dropped += 1
        elif self._merge_oldest_count():
            return
        else:
            victim = next(iter(self._entries.values()))
            self.lost += 1
            if self.lost == 1 or self.lost % 100 == 0:
                log.error("outbox unwritable and %d readings kept in memory: dropped the oldest (%s %s), %d lost so "
                          "far", self.limit, victim.reading.device, victim.reading.kind.value, self.lost)
        del self._entries[victim.key]

    def _merge_oldest_count(self) -> bool:
        """Fold the oldest flow reading into its device's next one (people in and out and the period added up), so
        a count is not lost for room. The later reading keeps its seq and event id; the folded one's seq, if it had
        one, stays unused. False if no device has two flow readings waiting."""
        entries = list(self._entries.values())
        for index, first in enumerate(entries):
            if first.reading.kind is not Kind.FLOW:
                continue
            later = next((e for e in entries[index + 1:] if e.reading.kind is Kind.FLOW
                          and e.reading.device == first.reading.device), None)
            if later is None:
                continue
            add = {"in": first.reading.fields.get("in", 0), "out": first.reading.fields.get("out", 0),
                   "period_s": first.reading.fields.get("period_s", 0)}
            fields = {**later.reading.fields, **{k: later.reading.fields.get(k, 0) + v for k, v in add.items()}}
            later.reading = replace(later.reading, fields=fields)
            if later.payload is not None:
                data = json.loads(later.payload)
                data.update({k: data.get(k, 0) + v for k, v in add.items()})
                later.payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
            del self._entries[first.key]
            self.merged += 1
            if self.merged == 1 or self.merged % 100 == 0:
                log.warning("outbox unwritable and %d readings kept in memory: folded the oldest count of %s into its "
                            "next (%d so far)", self.limit, first.reading.device, self.merged)
            return True
        return False

    def remove(self, key: int) -> None:
        self._entries.pop(key, None)

    def state(self, device: str) -> Mapping[str, Any] | None:
        """The driver state of `device`'s newest kept reading that carries one (newer than the outbox's)."""
        for entry in reversed(self._entries.values()):
            if entry.reading.device == device and entry.reading.state is not None:
                return entry.reading.state
        return None

    def batch(self, limit: int, after: int = 0) -> list[Row]:
        """Up to `limit` numbered, sendable entries above the cursor `after`, oldest first."""
        rows: list[Row] = []
        for entry in self._entries.values():
            if len(rows) >= limit:
                break
            if entry.key > after and entry.payload is not None and not entry.held:
                rows.append(Row(entry.key, entry.topic, entry.payload, entry.reading.kind is Kind.HEALTH,
                                entry.reading.urgent))
        return rows

    def done(self, keys: Iterable[int]) -> None:
        """The broker acknowledged these: they need no storing any more."""
        for key in keys:
            if self._entries.pop(key, None) is not None:
                self.sent += 1
