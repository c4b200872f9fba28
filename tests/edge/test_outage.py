"""Outage: broker down, a thousand events, the agent killed with SIGKILL during generation and during the drain.

Every event arrives, duplicates carry the same id, per-device order holds, and the counts add up to what the
simulated counters really counted.
"""

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from simulators.modbus_counter import ModbusCounterSim, SimCounter
from station_protocol import Flow, Health, Heartbeat, Status
from tests.edge.conftest import Received, Subscriber, subscribe
from tests.localservices import Mosquitto
from tests.wait import poll

UNITS = (1, 2, 3)


def start_agent(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "eldercare", "edge", "run", "--config", str(config)],
                                stdout=out, stderr=subprocess.STDOUT)


def stored(outbox: Path) -> int:
    """Device events generated so far, read from the agent's outbox (the broker is down: nothing left it)."""
    if not outbox.exists():
        return 0
    with sqlite3.connect(outbox, timeout=5) as db:
        try:
            return int(db.execute("SELECT count(*) FROM outbox WHERE device != 'agent'").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def device_messages(subscriber: Subscriber) -> list[Received]:
    with subscriber.lock:
        return [m for m in subscriber.messages if "/agent/" not in m.topic]


def distinct(subscriber: Subscriber) -> set[tuple[str, int]]:
    """(device, seq) of every device event received so far."""
    out = set()
    for received in device_messages(subscriber):
        message = received.decoded().message
        assert isinstance(message, Flow | Health)
        out.add((message.device, message.seq))
    return out


def agent_said(subscriber: Subscriber) -> list[Any]:
    with subscriber.lock:
        return [m.decoded().message for m in subscriber.messages if "/agent/" in m.topic]


def statuses(subscriber: Subscriber) -> list[bool]:
    return [m.online for m in agent_said(subscriber) if isinstance(m, Status)]


def counted_in(outbox: Path) -> dict[str, int]:
    """The counter total of each device's latest reading stored in the outbox (the broker is down: all are there)."""
    with sqlite3.connect(outbox, timeout=5) as db:
        rows = db.execute("SELECT device, payload FROM outbox WHERE kind = 'flow' ORDER BY id").fetchall()
    return {device: json.loads(payload)["counter_in"] for device, payload in rows}


def test_outage_with_kill_9(mosquitto: Mosquitto, tmp_path: Path) -> None:
    counters = [SimCounter(unit) for unit in UNITS]
    outbox = tmp_path / "outbox.sqlite3"
    log = tmp_path / "agent.log"
    stop = threading.Event()

    def people() -> None:  # people keep walking in and out throughout
        i = 0
        while not stop.is_set():
            counters[i % len(counters)].add(1, i % 2)
            i += 1
            time.sleep(0.002)

    with ModbusCounterSim(counters, tmp_path / "ttyUSB0") as sim:
        config = tmp_path / "station.yaml"
        config.write_text(yaml.safe_dump({
            "station": "qd-outage-01", "name": "断网测试站", "grade": "2A", "town": "汇龙镇", "address": "x",
            "mqtt": {"host": "127.0.0.1", "port": mosquitto.port, "tls": False, "password_env": None,
                     "reconnect_min_s": 0.2, "reconnect_max_s": 1.0},
            "agent": {"outbox": str(outbox), "clock_check": "year"},
            # The walker passes ~170 people a second per counter, no doorway's pace: the file says so (the most it
            # may, below what one person reads as in the wrong word order), or the agent would doubt the gains
            # across each kill and count nobody.
            "devices": [{"type": "counter", "id": f"flow-{u}", "port": str(sim.port), "unit": u, "interval_s": 0.01,
                         "timeout_s": 0.2, "max_per_min": 60_000, "max_step": 60_000} for u in UNITS],
        }, allow_unicode=True))
        walker = threading.Thread(target=people, daemon=True)
        walker.start()
        mosquitto.stop()
        agent = start_agent(config, log)
        try:
            poll(lambda: stored(outbox) >= 500, 60, "500 events in the outbox")
            agent.send_signal(signal.SIGKILL)  # mid-generation
            agent.wait()
            agent = start_agent(config, log)
            poll(lambda: stored(outbox) >= 1000, 60, "1000 events in the outbox")
            stop.set()
            walker.join()
            # The last people counted are read and stored.
            poll(lambda: counted_in(outbox) == {f"flow-{u}": c.people_in for u, c in zip(UNITS, counters, strict=True)},
                 30, "the counters' final totals stored")
            agent.send_signal(signal.SIGKILL)  # the subscriber must be listening before any agent can connect
            agent.wait()
            generated = stored(outbox)

            mosquitto.start()
            subscriber: Subscriber = subscribe(mosquitto, "eldercare/v1/qd-outage-01/#")
            agent = start_agent(config, log)
            poll(lambda: len(subscriber.messages) >= 50, 30, "the backlog starting to arrive")
            os.kill(agent.pid, signal.SIGKILL)  # mid-drain: unacknowledged events will be sent again
            agent.wait()
            agent = start_agent(config, log)
            poll(lambda: len(distinct(subscriber)) >= generated, 60, "every event")
            # What the agent said of itself: online, the last will after the kill, online again, and a heartbeat
            # owing to the backlog it still had to send.
            poll(lambda: statuses(subscriber)[:3] == [True, False, True] and any(
                isinstance(m, Heartbeat) and m.outbox > 0 for m in agent_said(subscriber)), 30, "the agent's status")
        finally:
            stop.set()
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(15)
            except subprocess.TimeoutExpired:
                before = log.read_text(errors="replace").count("Thread 0x")
                agent.send_signal(signal.SIGUSR1)  # stacks into the log (faulthandler)
                with contextlib.suppress(AssertionError):  # a diagnosis, not the failure being reported
                    poll(lambda: log.read_text(errors="replace").count("Thread 0x") > before, 5, "the stacks")
                agent.kill()
                raise AssertionError("agent ignored SIGTERM:\n" + log.read_text()[-6000:]) from None

    # The kill -9 left the broker to publish the last will; each (re)connect said online and sent a heartbeat with
    # the backlog it still had to send.
    agent_messages = agent_said(subscriber)
    assert [m.online for m in agent_messages if isinstance(m, Status)][:3] == [True, False, True]  # will after kill
    assert any(isinstance(m, Heartbeat) and m.outbox > 0 for m in agent_messages)

    by_seq: dict[tuple[str, int], set[str]] = defaultdict(set)
    first_seen: dict[str, list[int]] = defaultdict(list)
    flows: dict[str, dict[int, Flow]] = defaultdict(dict)
    events: dict[str, set[int]] = defaultdict(set)
    for received in device_messages(subscriber):
        message = received.decoded().message
        assert isinstance(message, Flow | Health)
        events[message.device].add(message.seq)
        key = (message.device, message.seq)
        if not by_seq[key]:
            first_seen[message.device].append(message.seq)
        by_seq[key].add(str(message.id))
        if isinstance(message, Flow):
            flows[message.device][message.seq] = message
    assert all(len(ids) == 1 for ids in by_seq.values()), "a duplicate carried a different id"
    for unit, counter in zip(UNITS, counters, strict=True):
        device = f"flow-{unit}"
        first = min(events[device])  # numbered from the clock in milliseconds when the device was first seen
        assert sorted(events[device]) == list(range(first, first + len(events[device]))), f"{device}: events lost"
        assert first_seen[device] == sorted(events[device]), f"{device}: out of order"
        counted = [flows[device][s] for s in sorted(flows[device])]
        baseline = counted[0].counter_in - counted[0].in_  # type: ignore[operator]
        assert sum(e.in_ for e in counted) == counter.people_in - baseline, f"{device}: people lost"
    # The restarted agent keeps polling after the backlog, so more than `generated` may have arrived.
    total = sum(len(s) for s in events.values())
    assert total >= generated >= 1000
    duplicates = len(device_messages(subscriber)) - total
    print(f"{generated} events, {duplicates} duplicates after the kill during the drain")
