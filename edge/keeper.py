"""Store every reading, even when the outbox cannot: the agent's one way to write (edge/agent.py calls it).

When an insert fails (SQLITE_FULL: the SD card is full; or any other SQLite error of a failing file), the keeper
first drops what the outbox policy calls droppable (health reports, kept heartbeats, oldest first) and tries once
more. If that does not help, the reading waits in memory (`Spill`, bounded) in arrival order, and every later reading
queues behind it so that nothing overtakes: each gets its `seq` reserved in the outbox if the file still allows that
small update in place, so the publisher can send it directly. Every `retry` moves what waits into the outbox again.
The condition is logged once and reported as the `outbox` device's health (`ok: false`), and `ok: true` once a
write succeeds again. Never raises a SQLite error to a driver; an invalid reading still raises ValueError.

A damaged file ('database disk image is malformed', 'file is not a database') is different: it does not heal while
the agent has it open, and memory would only fill up and lose readings, with the outbox's own report never sent (its
number cannot be reserved either). The keeper tells `on_damage` instead (the agent stops, and the check at the next
start moves the file aside and salvages it: edge/outbox_repair.py); the reading waits in memory until then, and the
agent writes what waits there to a side file on its way out (edge/pending.py).
"""

import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Any

from edge.drivers.base import Reading, health
from edge.outbox import Outbox
from edge.outbox_repair import is_damage
from edge.outbox_space import is_full
from edge.spill import Kept, Spill
from firmware_config.station import AGENT_OWN_DEVICE
from station_protocol import Kind
from station_protocol.topics import device_topic

log = logging.getLogger(__name__)

OUTBOX_DEVICE = AGENT_OWN_DEVICE  # the outbox's own health reports (a station config may not name a device so)


def describe(exc: sqlite3.Error) -> str:
    """The health report's `error` for a failed write."""
    if is_full(exc):
        return f"outbox disk full: readings kept in memory until there is room ({exc})"
    return f"outbox cannot store: readings kept in memory ({type(exc).__name__}: {exc})"


class Keeper:
    """Outbox first, memory when it must; `inflight()` is the publisher's memory cursor (entries at or below it are
    on the wire and not moved into the outbox until the broker answers or the connection ends)."""

    def __init__(self, outbox: Outbox, spill: Spill, *, room_batch: int = 1000, resume_bytes: int = 1 << 20,
                 wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.outbox = outbox
        self.spill = spill
        self.room_batch = room_batch
        self.resume_bytes = resume_bytes
        self.inflight: Callable[[], int] = lambda: 0
        self.holding: Callable[[], bool] = lambda: False  # the agent's clock guard: is the clock untrusted now?
        # Told of a damaged file (the agent stops on it); without it damage is kept through like a full disk.
        self.on_damage: Callable[[sqlite3.Error], None] | None = None
        self.problem: str | None = None
        self.heartbeats_dropped = 0
        self._wall, self._monotonic = wall, monotonic

    @property
    def depth(self) -> int:
        """Events waiting, on disk and in memory."""
        return self.outbox.depth + len(self.spill)

    def state(self, device: str) -> Mapping[str, Any] | None:
        """A driver's last state: from memory if a newer reading waits there (a restarted counter must not count
        again what a kept reading already holds)."""
        kept = self.spill.state(device)
        return kept if kept is not None else self.outbox.state(device)

    def put(self, reading: Reading, *, held: bool) -> None:
        if len(self.spill):
            self.retry()
        if not len(self.spill):
            try:
                self._store(lambda: self.outbox.put(reading, held=held))
            except sqlite3.Error as exc:
                self._failed(exc)
            else:
                self._stored()
                return
        self._keep(reading, held, (self._wall(), self._monotonic()))

    def put_heartbeat(self, topic: str, payload: bytes) -> None:
        """A heartbeat kept through a network outage is droppable: on a full disk it is not kept at all (nor while
        readings wait in memory: the room it would take is theirs)."""
        if self.problem is not None or len(self.spill):
            self.heartbeats_dropped += 1
            return
        try:
            self.outbox.put_heartbeat(topic, payload)
        except sqlite3.Error as exc:
            self.heartbeats_dropped += 1
            self._failed(exc)

    def retry(self) -> None:
        """Move what waits in memory into the outbox, oldest first; number what still cannot be stored."""
        on_the_wire = self.inflight()
        held = False
        for entry in self.spill:
            if entry.key <= on_the_wire and entry.payload is not None:
                continue  # sent on this connection: the broker's answer removes it, a lost connection frees it
            try:
                self._store(lambda e=entry: self._write(e))  # type: ignore[misc]
            except sqlite3.Error as exc:
                self._failed(exc)
                break
            self.spill.remove(entry.key)
            held = held or entry.held
        if held and not self.holding():
            # Read while the clock was untrusted, stored after it became trusted again: re-stamp and send now.
            try:
                self.outbox.release_held()
            except sqlite3.Error as exc:
                self._failed(exc)
        self._number()
        self._stored()

    def _write(self, entry: Kept) -> None:
        if entry.payload is None or entry.seq is None:
            self.outbox.put(entry.reading, held=entry.held, at=entry.at)
        else:
            self.outbox.put_numbered(entry.reading, entry.seq, entry.payload, held=entry.held, at=entry.at)

    def _store(self, write: Callable[[], object]) -> None:
        """One write; on SQLITE_FULL drop droppable rows and try once more."""
        try:
            write()
        except sqlite3.Error as exc:
            if not is_full(exc) or not self._make_room():
                raise
            write()

    def _make_room(self) -> bool:
        try:
            gone = self.outbox.drop_droppable(self.room_batch)
        except sqlite3.Error:
            return False
        if gone:
            log.warning("outbox disk full: dropped %d health reports and kept heartbeats to make room", gone)
        return gone > 0

    def _keep(self, reading: Reading, held: bool, at: tuple[float, float]) -> None:
        self.outbox.encode(reading, 0)  # an invalid reading is refused here as it would be by the outbox
        topic = str(device_topic(self.outbox.station, reading.device, Kind(reading.kind)))
        self.spill.add(reading, held=held, at=at, topic=topic)
        self._number()

    def _number(self) -> None:
        """Reserve seqs for the waiting readings in order (not held ones: their time is not trusted yet), so the
        publisher can send them directly; stop at the first that cannot be, to keep each device's order."""
        for entry in self.spill:
            if entry.payload is not None:
                continue
            if entry.held:
                return
            try:
                entry.seq = self.outbox.reserve_seq(entry.reading.device)
            except sqlite3.Error as exc:
                self._check_damage(exc)
                return
            entry.payload = self.outbox.encode(entry.reading, entry.seq)

    def _check_damage(self, exc: sqlite3.Error) -> bool:
        """Tell `on_damage` of a damaged file; True if it was told."""
        if self.on_damage is None or not is_damage(exc):
            return False
        self.on_damage(exc)
        return True

    def _failed(self, exc: sqlite3.Error) -> None:
        if self._check_damage(exc) or self.problem is not None:
            return  # a damaged file stops the agent: no "kept in memory" report that would never be sent
        self.problem = describe(exc)
        log.error("%s; counts, door changes and calls are kept in memory (up to %d readings), health reports and "
                  "heartbeats are dropped first; retrying", self.problem, self.spill.limit)
        self._keep(health(OUTBOX_DEVICE, False, self.problem, {"kept": len(self.spill)}), self.holding(),
                   (self._wall(), self._monotonic()))

    def _stored(self) -> None:
        """A write succeeded and nothing waits in memory: if a problem was reported and the outbox has `resume_bytes`
        of room again, report it over (the `ok: true` report is itself the last probe). The margin keeps a card at the
        edge of full from flapping between reports, each episode one log line."""
        if self.problem is None or len(self.spill):
            return
        try:
            if self.outbox.room() < self.resume_bytes:
                return
        except (sqlite3.Error, OSError):
            return
        dropped = self.outbox.dropped + self.spill.dropped
        report = health(OUTBOX_DEVICE, True, None, {"dropped": dropped, "lost": self.spill.lost})
        try:
            self._store(lambda: self.outbox.put(report, held=self.holding()))
        except sqlite3.Error:
            return
        self.problem = None
        log.warning("outbox writable again: nothing waits in memory; %d health reports and heartbeats dropped, %d "
                    "readings lost", dropped + self.heartbeats_dropped, self.spill.lost)
