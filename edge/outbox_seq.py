"""Each device's `seq` in the outbox: allocated in the caller's write transaction, so it survives restarts.

A device's numbers start from the trusted clock in milliseconds, not 0, so that they keep increasing across a
reinstall (a fresh outbox): the cloud sets aside readings received late whose numbers contradict their time against
those it heard live around them (docs/derivations.md, "Readings out of sequence"), and an outage's replay by a
reinstalled Pi numbered from 0 would contradict the old installation's numbers. A device first heard while the clock
is not trusted (a Pi right after boot, before NTP) is numbered from 0 provisionally; its held readings, never sent
while held, are renumbered from the clock once it is trusted (`Outbox.release_held`). A device makes far fewer than
one reading a millisecond, so a reinstall's first number is above the last of the installation before it.
"""

import sqlite3
from collections.abc import Callable, Mapping


class Numbering:
    """The `device_seq`, `device_seq_start` and `seq_floor` bookkeeping of one outbox connection."""

    def __init__(self, db: sqlite3.Connection, wall: Callable[[], float]) -> None:
        self._db = db
        self._wall = wall
        self._floor: int | None = None
        # Devices numbered from 0 while the clock was untrusted, to renumber from the clock once it is trusted.
        self.provisional = {d for (d,) in db.execute("SELECT device FROM device_seq_start WHERE provisional = 1")}

    def next(self, device: str, *, held: bool = False) -> int:
        """`device`'s next number, in the caller's transaction. A device's first is the clock in milliseconds, or 0
        provisionally while the clock is untrusted (`held`), and never below `first_seq`."""
        row = self._db.execute("SELECT seq FROM device_seq WHERE device = ?", (device,)).fetchone()
        if row is not None:
            return max(self.first_seq(), int(row[0]) + 1)
        seq = max(self.first_seq(), 0 if held else self.clock_ms())
        self._db.execute("INSERT OR REPLACE INTO device_seq_start (device, seq, provisional) VALUES (?, ?, ?)",
                         (device, seq, int(held)))
        if held:
            self.provisional.add(device)
        return seq

    def set(self, device: str, seq: int) -> None:
        """`device`'s last number is at least `seq`."""
        self._db.execute("INSERT INTO device_seq (device, seq) VALUES (?, ?) "
                         "ON CONFLICT (device) DO UPDATE SET seq = max(seq, excluded.seq)", (device, seq))

    def clock_ms(self) -> int:
        """A new device's first number: the (trusted) wall clock in milliseconds."""
        return max(0, int(self._wall() * 1000))

    def first_seq(self) -> int:
        """The lowest seq any device may take next: 0, or above every number a damaged outbox that was moved aside
        may have handed out (edge/outbox_repair.py sets it). Read from the file once, at open."""
        if self._floor is None:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'seq_floor'").fetchone()
            self._floor = 0 if row is None else int(row[0])
        return self._floor

    def raise_first_seq(self, floor: int) -> None:
        self._db.execute("INSERT INTO meta (key, value) VALUES ('seq_floor', ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)", (floor,))
        self._floor = None

    def settle_provisional(self, base: int) -> None:
        """The clock is trusted: the provisional devices' numbers move up by `base` (the clock in milliseconds), in
        the caller's transaction (which renumbers their held events with them); the caller clears `provisional`
        once that commits."""
        for device in self.provisional:
            self._db.execute("UPDATE device_seq SET seq = seq + ? WHERE device = ?", (base, device))
            self._db.execute("UPDATE device_seq_start SET seq = seq + ?, provisional = 0 WHERE device = ?",
                             (base, device))

    def seqs(self) -> Mapping[str, int]:
        """Each device's last number."""
        return {d: s for d, s in self._db.execute("SELECT device, seq FROM device_seq")}

    def first_seqs(self) -> Mapping[str, int]:
        """Each device's first number in this outbox (the clock in milliseconds when it was first heard)."""
        return {d: s for d, s in self._db.execute("SELECT device, seq FROM device_seq_start")}
