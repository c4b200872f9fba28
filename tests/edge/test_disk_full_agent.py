"""A full SD card under a running agent (SQLite's page cap: SQLITE_FULL exactly as on a full disk) during a network
outage: the agent keeps reading its counter and door, drops health reports and kept heartbeats first, keeps counts
and door changes in memory, says so once in the log and as the outbox's health, and when the broker and room return
every count and door change reaches the broker once."""

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from edge.agent import Agent
from edge.keeper import OUTBOX_DEVICE
from simulators.gpio import SimDoor
from simulators.modbus_counter import ModbusCounterSim, SimCounter
from station_protocol import Door, Flow, Health, Kind
from tests.edge.conftest import AgentThread, Subscriber, station_config, subscribe
from tests.localservices import Mosquitto
from tests.wait import poll

T = TypeVar("T")


def on_loop(thread: AgentThread, fn: Callable[[], T]) -> T:
    """Run `fn` on the agent's own loop (the outbox connection and the memory queue belong to it)."""
    async def call() -> T:
        return fn()

    return asyncio.run_coroutine_threadsafe(call(), thread.loop).result(10)


def stored_kinds(outbox: Path) -> list[str]:
    """The kinds of the events in the outbox file (the outbox's own health reports apart)."""
    with sqlite3.connect(outbox, timeout=5) as db:
        return [k for (k,) in db.execute("SELECT kind FROM outbox WHERE device != ?", (OUTBOX_DEVICE,))]


def unique(sub: Subscriber, kind: str, device: str) -> list[Any]:
    """Each event once by its id (what the cloud stores), in seq order; a (device, seq) never carries two ids."""
    by_id = {d.message.id: d.message for d in sub.of_kind(kind, device)}
    events = sorted(by_id.values(), key=lambda m: m.seq)
    assert len({m.seq for m in events}) == len(events), "one seq, two events"
    return events


def test_full_disk_keeps_counts_and_doors_in_memory(mosquitto: Mosquitto, mock_pins: Any, tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    subscriber = subscribe(mosquitto, client_id="disk-full-watcher", session_expiry=600)
    unit = SimCounter(1)
    door = SimDoor(mock_pins, 17)
    with ModbusCounterSim([unit], tmp_path / "ttyUSB0") as sim:
        base = station_config(mosquitto.port, tmp_path, [
            {"type": "counter", "id": "flow-1", "port": str(sim.port), "unit": 1, "interval_s": 0.1,
             "timeout_s": 0.2},
            {"type": "door", "id": "door-1", "pin": 17, "debounce_ms": 20}])
        config = base.model_copy(update={
            "agent": base.agent.model_copy(update={"heartbeat_s": 0.1, "outbox_retry_s": 0.2,
                                                               "outbox_resume_kb": 64}),
            "mqtt": base.mqtt.model_copy(update={"reconnect_min_s": 0.2, "reconnect_max_s": 0.5})})
        outbox = config.agent.outbox
        mosquitto.stop()  # a network outage: everything goes to the outbox
        agent = Agent(config, fsync=False)
        with caplog.at_level(logging.WARNING), AgentThread(agent) as thread:
            poll(lambda: stored_kinds(outbox).count("door") == 1, 20, "the door's state at start")
            door.close()  # pulled up until wired: the driver reported "open" at start
            poll(lambda: stored_kinds(outbox).count("heartbeat") >= 3 and stored_kinds(outbox).count("flow") >= 3
                 and stored_kinds(outbox).count("door") == 2, 20, "heartbeats, counts, doors kept through the outage")
            on_loop(thread, lambda: agent.outbox.cap_pages(agent.outbox.pages))  # the card is full from now on

            people = 0
            doors = ["open", "closed"]

            def kept(kind: Kind) -> int:
                return on_loop(thread, lambda: sum(e.reading.kind is kind for e in agent.spill))

            def counting() -> bool:
                nonlocal people
                unit.add(1, 0)
                people += 1
                return kept(Kind.FLOW) >= 20

            poll(counting, 30, "counts kept in memory while the card is full", interval=0.05)
            for state in ("open", "closed", "open", "closed"):
                before = kept(Kind.DOOR)
                door.open() if state == "open" else door.close()
                doors.append(state)
                poll(lambda: kept(Kind.DOOR) > before, 10, f"the door's {state} kept in memory")  # noqa: B023
            for _ in range(5):  # still counting, into memory
                before = kept(Kind.FLOW)
                unit.add(2, 1)
                people += 2
                poll(lambda: kept(Kind.FLOW) > before, 10, "a count kept in memory")  # noqa: B023

            # Health reports and kept heartbeats were dropped before any count had to wait in memory.
            assert set(stored_kinds(outbox)) == {"flow", "door"}
            assert agent.keeper.problem is not None and agent.keeper.problem.startswith("outbox disk full")
            assert agent.spill.lost == 0
            said = [r for r in caplog.records if r.levelno >= logging.ERROR and "disk full" in r.getMessage()]
            assert len(said) == 1  # in the log once for the whole episode, not once per reading

            mosquitto.start()  # the network returns; the card is still full
            poll(lambda: sum(f.in_ for f in unique(subscriber, "flow", "flow-1")) == people, 60,
                 lambda: f"every count delivered: {sum(f.in_ for f in unique(subscriber, 'flow', 'flow-1'))} of "
                         f"{people}")
            poll(lambda: [d.state for d in unique(subscriber, "door", "door-1")] == doors, 30,
                 lambda: f"every door change delivered: {[d.state for d in unique(subscriber, 'door', 'door-1')]}")
            assert agent.spill.sent > 0  # some counts went to the broker straight from memory
            poll(lambda: [h.ok for h in unique(subscriber, "health", OUTBOX_DEVICE)] == [False], 30,
                 "the outbox's health: full")
            on_loop(thread, lambda: agent.outbox.cap_pages(None))  # room on the card again (logs rotated)
            poll(lambda: [h.ok for h in unique(subscriber, "health", OUTBOX_DEVICE)] == [False, True], 30,
                 "the outbox's health: full, then fine again")
            unit.add(5, 0)
            people += 5
            poll(lambda: sum(f.in_ for f in unique(subscriber, "flow", "flow-1")) == people, 30, "counting on")
            assert len(agent.spill) == 0 and agent.keeper.problem is None
            said = [r for r in caplog.records if r.levelno >= logging.ERROR and "disk full" in r.getMessage()]
            assert len(said) == 1
    full, _fine = unique(subscriber, "health", OUTBOX_DEVICE)
    assert isinstance(full, Health) and full.error is not None and full.error.startswith("outbox disk full")
    flows = unique(subscriber, "flow", "flow-1")
    assert all(isinstance(f, Flow) for f in flows) and len(flows) > 30
    assert all(isinstance(d, Door) for d in unique(subscriber, "door", "door-1"))
    subscriber.client.loop_stop()
    subscriber.client.disconnect()
