"""Ingest fixtures: a migrated store with two registered stations (SQLite or PostgreSQL), a simulated station that
publishes protocol messages with paho, and ingesters in-process or as `eldercare cloud ingest` subprocesses."""

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select

from cloud.ingest.config import IngestConfig
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import Ingester
from cloud.ingest.stations import StationCache
from cloud.registry.csv_rows import StationRecord
from cloud.registry.store import upsert_stations
from cloud.store.db import make_engine
from cloud.store.migrate import upgrade
from cloud.store.models import DeadLetter, Event
from cloud.telemetry.sink import InfluxSink
from firmware_config.schedule import Schedule
from station_protocol import Call, Door, Face, Flow, Health, Heartbeat, Status, encode, new_event_id
from tests.localservices import Mosquitto
from tests.wait import poll

ROOT = Path(__file__).resolve().parents[2]
STATIONS = ("qd-a", "qd-b")


def _records() -> list[StationRecord]:
    schedule = Schedule(weekdays="1-5", hours="08:30-11:30 13:30-17:00")
    return [StationRecord(id=s, name=f"站 {s}", town="汇龙镇", grade="3A", schedule=schedule) for s in STATIONS]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ingest.db'}"


def prepare(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    upsert_stations(engine, _records())
    return engine


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated store on each dialect with stations qd-a and qd-b registered."""
    eng = prepare(db_url)
    yield eng
    eng.dispose()


def count(engine: Engine, model: type[Event] | type[DeadLetter]) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


class Station:
    """A simulated station: builds protocol messages and publishes them at QoS 1 like an edge agent."""

    def __init__(self, station: str = "qd-a") -> None:
        self.station = station
        self.seq = 0

    def _common(self, device: str, ts: datetime | None) -> dict[str, Any]:
        self.seq += 1
        return {"v": 1, "id": uuid.UUID(new_event_id()), "station": self.station, "device": device, "seq": self.seq,
                "ts": ts or datetime.now(UTC)}

    def topic(self, device: str, kind: str) -> str:
        return f"eldercare/v1/{self.station}/{device}/{kind}"

    def flow(self, n_in: int = 1, ts: datetime | None = None, device: str = "flow-1") -> tuple[str, bytes]:
        message = Flow(period_s=60, in_=n_in, out=0, **self._common(device, ts))
        return self.topic(device, "flow"), encode(message)

    def door(self, state: str = "open", ts: datetime | None = None) -> tuple[str, bytes]:
        return self.topic("door-1", "door"), encode(Door(state=state, **self._common("door-1", ts)))  # type: ignore[arg-type]

    def face(self, person: str = "elder-7") -> tuple[str, bytes]:
        message = Face(person=person, role="elder", distance=0.38, **self._common("cam-1", None))
        return self.topic("cam-1", "face"), encode(message)

    def call(self, action: str = "pressed", call: str = "c-1") -> tuple[str, bytes]:
        message = Call(action=action, call=call, **self._common("call-1", None))  # type: ignore[arg-type]
        return self.topic("call-1", "call"), encode(message)

    def health(self, ok: bool, device: str = "door-1", error: str | None = None,
               ts: datetime | None = None) -> tuple[str, bytes]:
        return self.topic(device, "health"), encode(Health(ok=ok, error=error, **self._common(device, ts)))

    def status(self, online: bool, ts: datetime | None = None) -> tuple[str, bytes]:
        message = Status(v=1, station=self.station, online=online, ts=ts or datetime.now(UTC))
        return f"eldercare/v1/{self.station}/agent/status", encode(message)

    def heartbeat(self) -> tuple[str, bytes]:
        message = Heartbeat(v=1, station=self.station, ts=datetime.now(UTC), version="1.0", uptime_s=5, outbox=0)
        return f"eldercare/v1/{self.station}/agent/heartbeat", encode(message)


def publish(broker: Mosquitto, messages: list[tuple[str, bytes]], retain: bool = False) -> None:
    """Publish at QoS 1 and wait until the broker has every message."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(500)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1, retain=retain) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()


@contextmanager
def running_ingester(broker: Mosquitto, engine: Engine, sink: InfluxSink | None = None,
                     **config: Any) -> Iterator[Ingester]:
    """An in-process ingester on the real broker and store, stopped gracefully afterwards."""
    # A fresh share group each time: Mosquitto keeps dealing messages to the offline persistent sessions of a group.
    name = uuid.uuid4().hex[:8]
    cfg = IngestConfig(port=broker.port, client_id=f"test-{name}", **{"batch_ms": 50, "group": f"g{name}", **config})
    cache = StationCache(engine, miss_interval=0.0)
    cache.refresh()
    ingester = Ingester(cfg, engine, cache, IngestMetrics(), sink)
    ingester.start(connect_timeout=10)
    try:
        yield ingester
    finally:
        ingester.stop()


def ingest_process(broker: Mosquitto, url: str, client_id: str, *args: str,
                   stderr: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    """`eldercare cloud ingest` as a real process."""
    env = {**os.environ, "ELDERCARE_DATABASE_URL": url, "ELDERCARE_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
           "PYTHONPATH": str(ROOT)}
    env.pop("ELDERCARE_INFLUX_URL", None)
    return subprocess.Popen([sys.executable, "-m", "eldercare", "cloud", "ingest", "--client-id", client_id,
                             "--batch-ms", "50", *args], env=env, stderr=stderr, text=True, cwd=ROOT)


def wait_connected(process: subprocess.Popen[str], timeout: float = 60.0) -> list[str]:
    """Read the ingester's JSON log until it says it is ingesting; returns the lines read. The rest of the log stays
    in the pipe (for `terminate`); a reader thread keeps a silent, hung ingester from blocking the test past
    `timeout`."""
    stream = process.stderr
    assert stream is not None
    lines: list[str] = []
    ended = threading.Event()

    def read() -> None:
        for line in stream:
            lines.append(line)
            if '"msg": "ingesting"' in line:
                break
        ended.set()

    threading.Thread(target=read, daemon=True).start()

    def started() -> bool:
        if not ended.is_set():
            return False
        if lines and '"msg": "ingesting"' in lines[-1]:
            return True
        raise AssertionError(f"ingester exited early: {''.join(lines)}")

    poll(started, timeout, lambda: f"ingester did not start: {''.join(lines)}")
    return lines


def terminate(process: subprocess.Popen[str]) -> str:
    """SIGTERM, wait, and return the rest of the ingester's log."""
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return err or ""
