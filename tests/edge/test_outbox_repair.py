"""A damaged outbox file (bad SD card, power cut on cheap flash): the agent starts anyway, keeps the file for a
technician, salvages what reads, and numbers its events above every seq the old file handed out."""

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edge.agent import Agent
from edge.drivers.base import Reading
from edge.keeper import OUTBOX_DEVICE
from edge.outbox import Outbox
from edge.outbox_repair import damage, open_outbox
from station_protocol import Door, Health, Kind, decode
from tests.edge.conftest import AgentThread, Subscriber, station_config
from tests.localservices import Mosquitto

NOW = datetime(2026, 10, 12, 1, 30, tzinfo=UTC).timestamp()
OLD = NOW - 86_400  # when the old outbox first heard its devices
FIRST = int(OLD * 1000)  # their first number: the clock in milliseconds (edge/outbox_seq.py)


def old_outbox(path: Path, station: str = "qd-a", events: int = 300) -> None:
    """An outbox holding `events` door and flow events per device (seq FIRST … FIRST + events - 1), closed cleanly
    (no -wal)."""
    box = Outbox(path, station, fsync=False, wall=lambda: OLD)
    for n in range(events):
        box.put(Reading(device="flow-1", kind=Kind.FLOW, ts=datetime.now(UTC),
                        fields={"period_s": 60, "in": n, "out": 0}, state={"in": n}))
        box.put(Reading(device="door-1", kind=Kind.DOOR, ts=datetime.now(UTC),
                        fields={"state": "open" if n % 2 else "closed"}))
    box.close()


def garbage_header(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(b"not sqlite" * 10)


def garbage_middle(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.seek(size // 2)
        f.write(b"\xff" * 3 * 4096)


def truncated(path: Path) -> None:
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)


@pytest.mark.parametrize("harm", [garbage_header, garbage_middle, truncated])
def test_a_damaged_outbox_is_moved_aside_and_numbers_continue_above(harm: Callable[[Path], None],
                                                                    tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    old_outbox(path)
    harm(path)
    assert damage(path, 5.0) is not None
    box, repair = open_outbox(path, "qd-a", check_s=5.0, clock_trusted=True, wall=lambda: NOW, fsync=False)
    assert repair is not None
    aside = tmp_path / "outbox.sqlite3.damaged-20261012T013000Z"
    assert repair.moved_to == aside and aside.exists()  # kept for a technician, never deleted
    # Whatever could be read back is queued again, unchanged (same event ids and seqs).
    salvaged = [decode(r.topic, r.payload).message for r in box.batch(10_000)]
    assert len(salvaged) == repair.salvaged == box.depth
    assert all(isinstance(m, Door) or m.device == "flow-1" for m in salvaged)  # type: ignore[union-attr]
    if harm is garbage_middle:  # the events beyond the damaged pages still read, the newest of each device too
        assert {m.device for m in salvaged if m.seq == FIRST + 299} == {"flow-1", "door-1"}  # type: ignore[union-attr]
    box.put(Reading(device="door-1", kind=Kind.DOOR, ts=datetime.now(UTC), fields={"state": "open"}))
    box.put(Reading(device="call-1", kind=Kind.CALL, ts=datetime.now(UTC), fields={"action": "pressed", "call": "c"}))
    new = [decode(r.topic, r.payload).message for r in box.batch(10_000)[-2:]]
    door_seq, call_seq = (m.seq for m in new)  # type: ignore[union-attr]
    assert door_seq > FIRST + 299  # above every number the old file handed out
    assert box.state("flow-1") in ({"in": 299}, None)  # a counter resumes from its last raw values if they read
    if repair.seq_floor:  # the old numbers did not read: every device starts above the clock in milliseconds
        assert call_seq >= door_seq >= NOW * 1000
    else:
        assert (door_seq, call_seq) == (FIRST + 300, NOW * 1000)  # a device new to the outbox: the clock
        assert box.state("flow-1") == {"in": 299}


def test_a_healthy_outbox_is_left_alone_and_a_long_check_is_cut_short(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "outbox.sqlite3"
    old_outbox(path)
    box, repair = open_outbox(path, "qd-a", check_s=5.0, clock_trusted=True, fsync=False)
    assert repair is None and box.depth == 600
    box.close()
    with caplog.at_level(logging.WARNING):
        assert damage(path, 0.0) is None  # no time to check: used unchecked, and said so
    assert "integrity check cut short" in caplog.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outbox.sqlite3"]


def test_the_agent_starts_on_a_damaged_outbox(mosquitto: Mosquitto, subscriber: Subscriber, mock_pins: Any,
                                              tmp_path: Path) -> None:
    config = station_config(mosquitto.port, tmp_path, [{"type": "door", "id": "door-1", "pin": 17}])
    old_outbox(config.agent.outbox, config.station)
    garbage_header(config.agent.outbox)  # 'file is not a database': nothing of it reads
    agent = Agent(config, fsync=False, kernel=lambda: None)
    with AgentThread(agent):
        subscriber.wait_for(lambda _m: bool(subscriber.of_kind("door", "door-1"))
                            and bool(subscriber.of_kind("health", OUTBOX_DEVICE)))
    (door,) = [d.message for d in subscriber.of_kind("door", "door-1")]
    assert isinstance(door, Door) and door.seq > FIRST + 299
    (report,) = [d.message for d in subscriber.of_kind("health", OUTBOX_DEVICE)]
    assert isinstance(report, Health) and report.ok is False and report.error is not None
    assert "outbox file damaged (file is not a database): moved aside" in report.error
    moved = [p.name for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert len(moved) == 1 and report.detail is not None and str(report.detail["moved_to"]).endswith(moved[0])

