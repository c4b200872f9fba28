"""The station side: a power cut (SIGKILL) while the outbox is being written, and a week offline.

Both end through the cloud: a real `eldercare edge run` drains the outbox to Mosquitto and `eldercare cloud ingest`
stores it.
"""

import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from cloud.store.models import Alert, Event
from edge.drivers.base import Reading
from edge.outbox import Outbox
from station_protocol import Kind, decode
from tests.faults.conftest import ROOT, AgentProcess, ingester, registered_store, wait_for_all
from tests.localservices import Mosquitto
from tests.wait import poll

WRITER = """
import sys, itertools
from datetime import UTC, datetime
from edge.drivers.base import Reading
from edge.outbox import Outbox
from station_protocol import Kind, decode
box = Outbox(sys.argv[1], "qd-power")  # fsync on, as the agent runs it
made = {d: s - box.first_seqs()[d] + 1 for d, s in box.seqs().items()}
for n in itertools.count(made.get("flow-1", 0)):  # the state counts the readings made, this one included
    box.put(Reading(device="flow-1", kind=Kind.FLOW, ts=datetime.now(UTC), fields={"period_s": 60, "in": 1, "out": 0},
                    state={"in": n}))
"""


def _rows(outbox: Path) -> int:
    with sqlite3.connect(outbox, timeout=5) as db:
        try:
            return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def _wait_rows(outbox: Path, above: int, timeout: float) -> None:
    poll(lambda: _rows(outbox) > above, timeout=timeout, what=f"more than {above} rows in the outbox")


def _key(topic: str, payload: bytes) -> tuple[str, int]:
    message = decode(topic, payload).message
    return message.device, message.seq  # type: ignore[union-attr]


def _agent(station: str, outbox: Path, port: int, home: Path) -> AgentProcess:
    """An agent for a station whose only live device is a door on mock pins: it drains what the outbox holds."""
    config = home / f"{station}.yaml"
    config.write_text(yaml.safe_dump({
        "station": station, "name": "断电测试站", "grade": "2A", "town": "汇龙镇", "address": "x",
        "mqtt": {"host": "127.0.0.1", "port": port, "tls": False, "password_env": None,
                 "reconnect_min_s": 0.2, "reconnect_max_s": 1.0},
        "agent": {"outbox": str(outbox), "clock_check": "year"},
        "devices": [{"type": "door", "id": "door-1", "pin": 17}],
    }, allow_unicode=True))
    agent = AgentProcess(station, config, outbox, home / f"{station}.log")
    with agent.log.open("ab") as out:
        agent.process = subprocess.Popen([sys.executable, "-m", "eldercare", "edge", "run", "--config", str(config),
                                          "--mock-gpio"], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    return agent


@pytest.mark.timeout(180)
def test_power_cut_while_writing_leaves_the_outbox_readable(mosquitto: Mosquitto, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    for cut in range(5):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(outbox)], cwd=ROOT)
        _wait_rows(outbox, 200 * (cut + 1), 60)
        _wait_rows(outbox, _rows(outbox), 10)  # it is writing at the moment of the cut
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        with sqlite3.connect(outbox) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        box = Outbox(outbox, "qd-power")
        first, last = box.first_seqs()["flow-1"], box.seqs()["flow-1"]
        rows = box.batch(1_000_000)
        assert len(rows) == box.depth == last - first + 1  # the last seq handed out is the last row stored
        assert box.state("flow-1") == {"in": last - first}  # driver state committed with its reading
        box.close()

    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", ["qd-power"])
    with ingester(mosquitto.port, str(engine.url), "ing-power", tmp_path / "ing.log"):
        agent = _agent("qd-power", outbox, mosquitto.port, tmp_path)
        try:
            expected = {("qd-power", "flow-1", n) for n in range(first, last + 1)}
            keys = wait_for_all(engine, expected, timeout=90)
        finally:
            agent.stop()
    assert [k for k, n in Counter(keys).items() if n > 1] == []
    assert {k for k in keys if k[1] == "flow-1"} == expected


@pytest.mark.timeout(180)
def test_a_week_offline_replays_in_order_with_emergency_calls_first(mosquitto: Mosquitto, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    box = Outbox(outbox, "qd-week")
    start = datetime.now(UTC) - timedelta(days=7)
    presses = {300, 700, 1000}
    for i in range(1008):  # a count every 10 minutes for a week, three emergency presses among them
        at = start + timedelta(minutes=10 * i)
        box.put(Reading(device="flow-1", kind=Kind.FLOW, ts=at, fields={"period_s": 600, "in": i % 4, "out": 0}))
        if i in presses:
            box.put(Reading(device="call-1", kind=Kind.CALL, ts=at, urgent=True,
                            fields={"action": "pressed", "call": f"c-{i}"}))
    flow, call = box.first_seqs()["flow-1"], box.first_seqs()["call-1"]  # each device numbered from the clock
    box.close()
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", ["qd-week"])

    # A subscriber and the ingester with persistent plain subscriptions (they survive a broker restart; see
    # test_broker_restart.py on shared ones) record the order the agent sends in.
    received: list[tuple[str, int]] = []
    watch = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="watch-week", protocol=mqtt.MQTTv311,
                        clean_session=False)
    watch.on_message = lambda _c, _u, m: received.append(_key(m.topic, m.payload)) \
        if m.topic.endswith(("/flow", "/call")) else None
    watch.connect("127.0.0.1", mosquitto.port)
    watch.subscribe("eldercare/v1/qd-week/+/+", qos=1)
    watch.loop_start()
    with ingester(mosquitto.port, str(engine.url), "ing-week", tmp_path / "ing.log", "--mqtt-version", "3.1.1"):
        # The failure: no broker. The agent runs, cannot connect, and keeps the week in its outbox.
        mosquitto.stop()
        agent = _agent("qd-week", outbox, mosquitto.port, tmp_path)
        try:
            poll(lambda: "Connection refused" in agent.log.read_text(), timeout=30, what="refused connections")
            assert _rows(outbox) >= 1011
            mosquitto.start()
            expected = ({("qd-week", "flow-1", flow + n) for n in range(1008)}
                        | {("qd-week", "call-1", call + n) for n in range(3)})
            keys = wait_for_all(engine, expected, timeout=90)
            poll(lambda: len(set(received)) >= 1011, timeout=30, what="the subscriber's copy")
        finally:
            agent.stop()
            watch.loop_stop()
            watch.disconnect()
    assert [k for k, n in Counter(keys).items() if n > 1] == []
    # Order on the wire: the calls first, then the week oldest first.
    first_seen = list(dict.fromkeys(received))
    assert first_seen[:3] == [("call-1", call), ("call-1", call + 1), ("call-1", call + 2)]
    assert first_seen[3:] == [("flow-1", flow + n) for n in range(1008)]
    # The cloud files each count on its own day (8 local days touched), not on the day it arrived.
    with engine.connect() as c:
        days = c.execute(select(func.count(func.distinct(Event.local_date))).where(Event.device_id == "flow-1"))
        assert days.scalar_one() >= 7
        calls = c.execute(select(func.count()).select_from(Alert).where(Alert.kind == "emergency_call")).scalar_one()
    assert calls == 3
