"""The broker restarted under load from 50 stations: every event stored exactly once, stations come back with jitter.

46 stations are simulated by the fleet publisher (one paho client each, QoS 1, as `eldercare simulate fleet` does);
4 are real `eldercare edge run` agents counting people on a simulated Modbus counter, so the agent's own outbox and
reconnect backoff are what is measured. (50 stations: all 50 are here, but only 4 are full agents,
to fit a shared 2-core CI machine.)

The ingester runs with `--mqtt-version 3.1.1` (a plain persistent subscription) here. With its default MQTT v5 shared
subscription, Mosquitto 2.0 does not restore the `$share/...` subscription from persistence on restart: messages
published after the restart and before the ingester re-subscribes find no subscriber and are dropped, while the agents
have already deleted them on PUBACK. The agents keep a message whose PUBACK says "no matching subscribers" and send
it again after reconnecting: the second test restarts the broker under the default shared subscription with the agents
alone (the fleet publisher's MQTT 3.1.1 clients get no reason codes and would still lose such messages).
"""

import socket
import threading
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine

from simulators.day_events import SimEvent
from simulators.publisher import BrokerTarget, FleetPublisher
from station_protocol import Flow, encode, new_event_id
from tests.faults.conftest import IngestProcess, agents, ingester, registered_store, stored_keys, wait_for_all
from tests.localservices import Mosquitto, free_port
from tests.wait import poll

AGENTS = [f"qd-agent-{i}" for i in range(1, 5)]
SIMULATED = [f"qd-sim-{i:02d}" for i in range(1, 47)]


def _flow(station: str, seq: int) -> SimEvent:
    now = datetime.now(UTC)
    message = Flow(v=1, id=uuid.UUID(new_event_id()), station=station, device="flow-1", seq=seq, ts=now,
                   period_s=60, in_=seq % 3, out=0)
    return SimEvent(now, f"eldercare/v1/{station}/flow-1/flow", encode(message))


def _unheard(port: int) -> bool:
    """Does the broker answer a publish under eldercare/v1/ with "no matching subscribers" (0x10)?"""
    probe = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    answers: list[int] = []
    probe.on_publish = lambda _c, _u, _mid, reason, _p: answers.append(reason.value)
    probe.connect("127.0.0.1", port)
    probe.loop_start()
    try:
        probe.publish("eldercare/v1/probe/probe/health", b"{}", qos=1).wait_for_publish(5)
        poll(lambda: bool(answers), timeout=5, what="the probe's PUBACK")
    finally:
        probe.loop_stop()
        probe.disconnect()
    return answers == [0x10]


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return True
    return False


@pytest.mark.timeout(180)
def test_broker_restart_under_load_loses_and_duplicates_nothing(mosquitto: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", AGENTS + SIMULATED)
    log = tmp_path / "ingest.log"
    metrics = free_port()
    with ingester(mosquitto.port, str(engine.url), "ing-restart", log, "--batch-size", "200",
                  "--mqtt-version", "3.1.1", "--metrics-port", str(metrics)) as ing:
        _run(mosquitto, engine, ing, metrics, tmp_path)


def _uncommitted(metrics_port: int) -> float:
    """Messages the ingester received and has not committed yet (its own gauge)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith("eldercare_ingest_queue ")))


def _run(mosquitto: Mosquitto, engine: Engine, ing: IngestProcess, metrics_port: int, tmp_path: Path) -> None:
    sent: dict[str, int] = dict.fromkeys(SIMULATED, 0)
    stop = threading.Event()
    fleet = FleetPublisher(BrokerTarget("127.0.0.1", mosquitto.port), SIMULATED)

    def load() -> None:  # ~4 events a second from each simulated station, through the outage
        while not stop.wait(0.25):
            for station in SIMULATED:
                fleet.publish(_flow(station, sent[station]), station)
                sent[station] += 1

    with agents(AGENTS, mosquitto.port, tmp_path) as procs:
        publisher = threading.Thread(target=load, daemon=True)
        publisher.start()
        poll(lambda: all(a.connected_at() for a in procs), timeout=60, what="every agent connected")
        poll(lambda: len(stored_keys(engine)) > 500, timeout=60, what="events flowing")

        # The failure: the broker goes away (SIGTERM: it saves its persistent sessions), nothing reaches the store.
        mosquitto.stop()
        down_at = datetime.now()
        assert _refused(mosquitto.port)
        ing.wait_logged("disconnected from the broker")
        poll(lambda: _uncommitted(metrics_port) == 0, 30, "batches received before the stop committed")
        frozen = len(stored_keys(engine))
        # Events that would have been stored by now had any reached the ingester: each agent's outbox fills.
        backlog = {a.station: a.waiting() for a in procs}
        poll(lambda: all(a.waiting() >= backlog[a.station] + 3 for a in procs), 60,
             "new events waiting in every agent's outbox")
        assert len(stored_keys(engine)) == frozen, "events stored while the broker was down?"
        assert all(a.generated() for a in procs)
        # Down long enough for every agent's backoff to have grown (3 refusals: delays up to 4 s, their cap here).
        # After a blip of a few tenths of a second the delays are all under 0.5 s, and four agents landing within
        # 0.05 s of each other is then a matter of chance, not of a missing jitter.
        refused = {a.station: a.refused() for a in procs}
        poll(lambda: all(a.refused() >= refused[a.station] + 3 for a in procs), 60,
             "every agent refused three times")

        up_at = datetime.now()  # the agents' log clock (local time, milliseconds)
        mosquitto.start()
        poll(lambda: all(any(t > down_at for t in a.connected_at()) for a in procs), timeout=60,
             what="every agent reconnected")
        poll(lambda: all(a.waiting() == 0 for a in procs), 60, "every agent's outage backlog sent")
        # The load goes on after the restart (two rounds at least) until the fleet has sent over a thousand events.
        enough = max(sum(sent.values()) + 2 * len(SIMULATED), 1001)
        poll(lambda: sum(sent.values()) >= enough, 60, "load after the restart")
        stop.set()
        publisher.join(10)

    expected: set[tuple[str, str, int]] = {(s, "flow-1", n) for s, count in sent.items() for n in range(count)}
    for agent in procs:
        assert agent.waiting() == 0, f"{agent.station}: outbox not drained"
        expected |= {(agent.station, device, n) for device, numbers in agent.generated().items() for n in numbers}
    # The fleet's clients stay connected until everything they sent is stored: closing them drops what they hold.
    try:
        keys = wait_for_all(engine, expected)
    finally:
        fleet.close()
    log = ing.terminate()
    assert "disconnected from the broker" in log  # the ingester saw the outage too
    duplicates = [k for k, n in Counter(keys).items() if n > 1]
    assert duplicates == []
    assert set(keys) == expected, f"missing {len(expected - set(keys))}, unexpected {len(set(keys) - expected)}"
    assert sum(sent.values()) > 1000

    # Jitter: each agent's first reconnect after the restart, relative to the restart.
    back = sorted((min(t for t in a.connected_at() if t > down_at) - up_at).total_seconds() for a in procs)
    spread = back[-1] - back[0]
    print(f"broker down {(up_at - down_at).total_seconds():.1f} s; agents back after {back} s (spread {spread:.2f} s)")
    assert spread > 0.05, f"agents reconnected in lockstep: {back}"


@pytest.mark.timeout(180)
def test_agents_keep_what_nobody_heard_after_a_restart_drops_the_shared_subscription(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", AGENTS)
    with agents(AGENTS, mosquitto.port, tmp_path) as procs:
        with ingester(mosquitto.port, str(engine.url), "ing-shared", tmp_path / "ing-1.log") as ing:
            poll(lambda: len(stored_keys(engine)) > 100, timeout=60, what="events flowing")
            ing.terminate()  # its persistent session (and $share subscription) stays in the broker...
        mosquitto.restart()  # ...until this restart, which does not restore a shared subscription
        # The failure: nobody subscribes any more (a probe's PUBACK says so), and the agents publish into that.
        assert _unheard(mosquitto.port)
        poll(lambda: all("no subscriber" in a.log.read_text() for a in procs), timeout=60,
             what="every agent told that nobody heard it")
        with ingester(mosquitto.port, str(engine.url), "ing-shared", tmp_path / "ing-2.log"):
            expected = {(a.station, d, n) for a in procs for d, numbers in a.generated().items() for n in numbers}
            keys = wait_for_all(engine, expected)
    assert [k for k, n in Counter(keys).items() if n > 1] == []
