"""A full disk under the outbox, on a real SQLite file: SQLite's page cap (max_page_count) makes every insert that
needs a new page fail with SQLITE_FULL, exactly as a full SD card does."""

import json
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.drivers.base import Reading, health
from edge.keeper import OUTBOX_DEVICE, Keeper
from edge.outbox import Outbox
from edge.spill import Spill
from station_protocol import Door, Flow, Health, Kind, decode


def flow(n: int) -> Reading:
    return Reading(device="flow-1", kind=Kind.FLOW, ts=datetime.now(UTC), fields={"period_s": 60, "in": n, "out": 0},
                   state={"in": n})


def door(state: str) -> Reading:
    return Reading(device="door-1", kind=Kind.DOOR, ts=datetime.now(UTC), fields={"state": state})


def stored_kinds(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [k for (k,) in db.execute("SELECT kind FROM outbox ORDER BY id")]


def test_full_disk_drops_health_first_then_keeps_readings_in_memory(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    box = Outbox(tmp_path / "o.db", "qd-a", fsync=False)
    keeper = Keeper(box, Spill(1000))
    for n in range(40):
        keeper.put(health("flow-1", n % 2 == 0, "flapping"), held=False)
        keeper.put(flow(n), held=False)
    keeper.put_heartbeat("eldercare/v1/qd-a/agent/heartbeat", b'{"v": 1}')
    box.cap_pages(box.pages)  # the card is full from here on
    n = 39
    with caplog.at_level(logging.WARNING):
        while not len(keeper.spill):
            n += 1
            keeper.put(flow(n), held=False)
            assert n < 5000, "the outbox never filled"
        # Health reports and the kept heartbeat went before any count had to wait in memory.
        assert set(stored_kinds(tmp_path / "o.db")) == {"flow"}
        assert box.dropped == 41
        for state in ("open", "closed", "open"):
            keeper.put(door(state), held=False)
        for _ in range(30):
            n += 1
            keeper.put(flow(n), held=False)
            keeper.put(health("flow-1", True), held=False)
            keeper.put_heartbeat("eldercare/v1/qd-a/agent/heartbeat", b'{"v": 1}')
    assert keeper.problem is not None and keeper.problem.startswith("outbox disk full")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "outbox disk full" in errors[0].getMessage()  # once, not once per reading
    # Waiting in memory: first the outbox's own health report, then every reading, each numbered (the seq update in
    # place still fits) so the publisher could send it directly.
    kept = list(keeper.spill)
    assert kept[0].reading.device == OUTBOX_DEVICE and kept[0].reading.fields["ok"] is False
    assert all(e.payload is not None for e in kept)
    assert keeper.state("flow-1") == {"in": n}  # a restarted counter resumes from the newest reading, kept or not

    box.cap_pages(None)  # room again
    keeper.retry()
    assert len(keeper.spill) == 0 and keeper.problem is None
    rows = [decode(r.topic, r.payload).message for r in box.batch(100_000)]
    assert [f.in_ for f in rows if isinstance(f, Flow)] == list(range(n + 1))  # every count, in order
    assert [d.state for d in rows if isinstance(d, Door)] == ["open", "closed", "open"]
    seqs = [m.seq for m in rows if isinstance(m, Flow | Health) and m.device == "flow-1"]
    assert sorted(seqs) == seqs and len(set(seqs)) == len(seqs)
    assert [r.ok for r in rows if isinstance(r, Health) and r.device == OUTBOX_DEVICE] == [False, True]


def test_memory_bound_drops_health_then_folds_counts_then_the_oldest(tmp_path: Path) -> None:
    spill = Spill(3)
    at = (0.0, 0.0)
    spill.add(flow(1), held=False, at=at, topic="t")
    spill.add(health("flow-1", False), held=False, at=at, topic="t")
    spill.add(flow(2), held=False, at=at, topic="t")
    spill.add(flow(3), held=False, at=at, topic="t")
    assert [e.reading.fields["in"] for e in spill] == [1, 2, 3] and spill.dropped == 1  # health first
    # Full of counts: the oldest is folded into the device's next, with its period; no one is lost.
    second = list(spill)[1]
    second.seq, second.payload = 7, b'{"v":1,"seq":7,"period_s":60,"in":2,"out":0}'
    spill.add(flow(4), held=False, at=at, topic="t")
    assert [e.reading.fields["in"] for e in spill] == [3, 3, 4] and spill.lost == 0 and spill.merged == 1
    assert json.loads(second.payload) == {"v": 1, "seq": 7, "period_s": 120, "in": 3, "out": 0}
    assert second.reading.fields["period_s"] == 120
    # Nothing left to fold (one count per device, the rest door changes): the oldest goes, counted as lost.
    doors = Spill(2)
    doors.add(door("open"), held=False, at=at, topic="t")
    doors.add(flow(1), held=False, at=at, topic="t")
    doors.add(door("closed"), held=False, at=at, topic="t")
    assert [e.reading.kind for e in doors] == [Kind.FLOW, Kind.DOOR] and doors.lost == 1


def test_an_invalid_reading_is_still_refused_on_a_full_disk(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", "qd-a", fsync=False)
    keeper = Keeper(box, Spill(10))
    keeper.put(flow(0), held=False)
    box.cap_pages(box.pages)
    n = 0
    while not len(keeper.spill):
        n += 1
        keeper.put(flow(n), held=False)
    with pytest.raises(ValueError, match="period_s"):
        keeper.put(Reading(device="flow-1", kind=Kind.FLOW, ts=datetime.now(UTC),
                           fields={"period_s": 0, "in": 1, "out": 0}), held=False)
