"""The outbox on a real SQLite file: order, seq across restarts, the bound policy, held events, validation."""

import json
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.drivers.base import Reading, health
from edge.face.capture import redact
from edge.face.pipeline import Stats
from edge.outbox import Outbox
from edge.outbox_event import MAX_PAYLOAD, Row
from station_protocol import Health, Kind, decode


def flow(device: str = "flow-1", n: int = 1) -> Reading:
    return Reading(device=device, kind=Kind.FLOW, ts=datetime.now(UTC),
                   fields={"period_s": 60, "in": n, "out": 0}, state={"in": n})


def call() -> Reading:
    return Reading(device="call-1", kind=Kind.CALL, ts=datetime.now(UTC), urgent=True,
                   fields={"action": "pressed", "call": "c-1"})


def test_urgent_first_then_fifo_and_seq_survives_restart(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", "qd-a")
    for n in range(3):
        box.put(flow(n=n))
    box.put(call())
    rows = box.batch(10)
    assert [r.topic.rsplit("/", 1)[1] for r in rows] == ["call", "flow", "flow", "flow"]
    decoded = [decode(r.topic, r.payload) for r in rows]
    first = decoded[1].message.seq  # type: ignore[union-attr]
    assert [d.message.seq for d in decoded[1:]] == [first, first + 1, first + 2]  # type: ignore[union-attr]
    assert box.batch(10, after=rows[1].id) == [rows[0], *rows[2:]]  # above the cursor, urgent still first
    assert box.batch(10, after=rows[1].id, after_urgent=rows[0].id) == rows[2:]  # one cursor per priority
    box.done([r.id for r in rows[:2]])
    assert box.depth == 2
    box.close()
    again = Outbox(tmp_path / "o.db", "qd-a")
    assert again.depth == 2
    assert again.state("flow-1") == {"in": 2}
    again.put(flow())
    last = decode(again.batch(10)[-1].topic, again.batch(10)[-1].payload)
    assert last.message.seq == first + 3  # type: ignore[union-attr]


def test_bound_drops_health_never_counts(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", "qd-a", max_events=100)
    for _ in range(50):
        box.put(health("flow-1", False, "no answer"))
    for n in range(120):
        box.put(flow(n=n))
    kinds = [r.topic.rsplit("/", 1)[1] for r in box.batch(1000)]
    assert kinds.count("flow") == 120  # over the bound: kept anyway
    assert kinds.count("health") == 0
    assert box.dropped == 50


def test_invalid_reading_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", "qd-a")
    bad = Reading(device="flow-1", kind=Kind.FLOW, ts=datetime.now(UTC), fields={"period_s": 0, "in": -1, "out": 0})
    with pytest.raises(ValueError, match="period_s"):
        box.put(bad)
    assert box.depth == 0
    assert box.seqs() == {}


def test_held_events_are_restamped_by_monotonic_time(tmp_path: Path) -> None:
    wrong = datetime(2019, 3, 1, tzinfo=UTC)  # a Pi without RTC right after boot
    clock = [wrong.timestamp()]
    mono = [812.5]  # seconds since boot
    box = Outbox(tmp_path / "o.db", "qd-a", wall=lambda: clock[0], monotonic=lambda: mono[0])
    box.put(Reading(device="door-1", kind=Kind.DOOR, ts=wrong, fields={"state": "open"}), held=True)
    assert box.batch(10) == []
    mono[0] += 0.2
    synced = datetime(2026, 10, 12, 1, 30, tzinfo=UTC)
    clock[0] = synced.timestamp()  # NTP synced
    assert box.release_held() == 1
    (row,) = box.batch(10)
    ts = datetime.fromisoformat(json.loads(row.payload)["ts"])
    # The event happened 0.2 s ago by the monotonic clock; its timestamp now says so.
    assert abs((synced - ts).total_seconds() - 0.2) < 0.001
    assert decode(row.topic, row.payload).clock_fault is None


def test_a_health_detail_the_protocol_does_not_take_is_replaced_and_the_report_still_goes_out(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", "qd-a")
    encoding = [0.01 * i for i in range(128)]  # a bug in a driver: never sent, but the health report is
    payload = box.put(health("cam-1", False, error="stream lost", detail={"encoding": encoding, "fps": 0.0}))
    message = decode("eldercare/v1/qd-a/cam-1/health", payload).message
    assert isinstance(message, Health) and (message.ok, message.error) == (False, "stream lost")
    assert message.detail == {"truncated": True, "bytes": len(json.dumps({"encoding": encoding, "fps": 0.0}))}
    assert b"0.01" not in payload


def test_a_cameras_periodic_health_passes_with_every_counter_at_its_largest(tmp_path: Path) -> None:
    # The detail edge/face/runner.py sends: the redacted source, every counter of its Stats, fps, ended.
    counters = {f.name: 2_000_000_000 for f in fields(Stats)}
    detail = {"source": redact("rtsp://admin:p@ss/w0rd@192.168.10.64:554/Streaming/Channels/101?auth=secret"),
              **Stats(**counters).as_dict(), "fps": 12.34, "ended": True}
    payload = Outbox(tmp_path / "o.db", "qd-a").put(health("cam-1", True, detail=detail))
    message = decode("eldercare/v1/qd-a/cam-1/health", payload).message
    assert isinstance(message, Health) and message.detail == detail


def test_an_oversized_event_never_reaches_the_queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = Outbox(tmp_path / "o.db", "qd-a")
    # A driver's diagnostics are cut; the health report itself still goes out, far below the broker's limit.
    payload = box.put(health("flow-1", False, error="modbus timeout", detail={"dump": "x" * 100_000}))
    assert len(payload) <= MAX_PAYLOAD
    message = decode("eldercare/v1/qd-a/flow-1/health", payload).message
    assert isinstance(message, Health) and (message.ok, message.error) == (False, "modbus timeout")
    assert message.detail == {"truncated": True, "bytes": len(json.dumps({"dump": "x" * 100_000}))}
    # Any other event over the limit is refused like an invalid reading, and leaves nothing queued.
    monkeypatch.setattr("edge.outbox_event.MAX_PAYLOAD", 100)
    with pytest.raises(ValueError, match="over the outbox's 100-byte limit"):
        box.put(flow())
    assert box.depth == 1 and list(box.seqs()) == ["flow-1"]


def _seq(row: Row) -> int:
    return int(json.loads(row.payload)["seq"])


def test_a_new_device_is_numbered_from_the_clock_so_a_reinstall_numbers_on(tmp_path: Path) -> None:
    # The cloud sets aside late readings whose numbers contradict those it heard live: a reinstalled Pi (a fresh
    # outbox) replaying an outage must number above the installation before it, not from 0 again.
    clock = [datetime(2026, 10, 12, 1, 30, tzinfo=UTC).timestamp()]
    old = Outbox(tmp_path / "old.db", "qd-a", wall=lambda: clock[0])
    for n in range(5):
        old.put(flow(n=n))
    numbers = [_seq(r) for r in old.batch(10)]
    assert numbers == [int(clock[0] * 1000) + i for i in range(5)]
    old.close()
    clock[0] += 60  # reinstalled a minute later: a new SD card, an empty outbox
    new = Outbox(tmp_path / "new.db", "qd-a", wall=lambda: clock[0])
    new.put(flow())
    assert _seq(new.batch(10)[0]) > numbers[-1]


def test_a_device_first_heard_before_ntp_is_renumbered_from_the_trusted_clock(tmp_path: Path) -> None:
    wrong = datetime(2019, 3, 1, tzinfo=UTC)  # a fresh Pi right after boot, before NTP
    clock = [wrong.timestamp()]
    box = Outbox(tmp_path / "o.db", "qd-a", wall=lambda: clock[0], monotonic=lambda: 10.0)
    for state in ("open", "closed"):
        box.put(Reading(device="door-1", kind=Kind.DOOR, ts=wrong, fields={"state": state}), held=True)
    synced = datetime(2026, 10, 12, 1, 30, tzinfo=UTC)
    clock[0] = synced.timestamp()
    assert box.release_held() == 2
    box.put(Reading(device="door-1", kind=Kind.DOOR, ts=synced, fields={"state": "open"}))
    base = int(synced.timestamp() * 1000)
    assert [_seq(r) for r in box.batch(10)] == [base, base + 1, base + 2]
    box.close()
    # Numbered from 0 until then, and renumbered even if the agent restarted in between (held, never sent).
    clock[0] = wrong.timestamp()
    again = Outbox(tmp_path / "again.db", "qd-a", wall=lambda: clock[0], monotonic=lambda: 10.0)
    again.put(Reading(device="door-1", kind=Kind.DOOR, ts=wrong, fields={"state": "open"}), held=True)
    again.close()
    clock[0] = synced.timestamp()
    restarted = Outbox(tmp_path / "again.db", "qd-a", wall=lambda: clock[0], monotonic=lambda: 10.0)
    restarted.put(Reading(device="door-1", kind=Kind.DOOR, ts=synced, fields={"state": "closed"}))
    assert [_seq(r) for r in restarted.batch(10)] == [base, base + 1]
