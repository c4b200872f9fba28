"""The whole round trip with the real parts: `eldercare cloud sender`'s time checks through Mosquitto to two station
agents, one whose Pi's clock runs 25 minutes behind; their answers through the ingester into the store; `eldercare
cloud worker --once` judging them. The agent behind has its day flagged `clock_behind` and its town alerted; its twin
with a right clock, asked by the same sender through the same broker, has nothing."""

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from cloud.alerts.sender import Sender, connect, send_pass
from cloud.alerts.time_checks import TimeChecks
from cloud.ingest.config import IngestConfig
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import Ingester
from cloud.ingest.stations import StationCache
from cloud.settings import Settings
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult as DayRow
from cloud.store.models import Alert, Device, Event
from edge.agent import Agent
from tests.edge.conftest import AgentThread, station_config
from tests.faults.conftest import registered_store, worker_once
from tests.localservices import Mosquitto
from tests.wait import poll

BEHIND = timedelta(minutes=25)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _online(engine: Engine, stations: set[str]) -> bool:
    with make_session_factory(engine)() as session:
        return set(session.scalars(select(Device.station_id).where(Device.device_id == "agent",
                                                                   Device.online.is_(True)))) == stations


def _answers(engine: Engine) -> dict[str, list[tuple[datetime, datetime]]]:
    """(answered, asked) of every stored answer to a time check, by station."""
    out: dict[str, list[tuple[datetime, datetime]]] = {}
    with make_session_factory(engine)() as session:
        for station, ts, payload in session.execute(select(Event.station_id, Event.ts, Event.payload)
                                                    .where(Event.kind == "heartbeat")):
            if payload.get("asked"):
                out.setdefault(station, []).append((ts, datetime.fromisoformat(payload["asked"])))
    return out


@pytest.mark.timeout(300)
def test_the_sender_asks_the_agents_answer_and_the_worker_finds_the_clock_behind(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", ["qd-right", "qd-behind"])
    cache = StationCache(engine, miss_interval=0.0)
    cache.refresh()
    name = uuid.uuid4().hex[:8]
    ingester = Ingester(IngestConfig(port=mosquitto.port, client_id=f"rt-{name}", batch_ms=20, group=f"g{name}"),
                        engine, cache, IngestMetrics(), None)
    ingester.start(connect_timeout=10)
    right = Agent(station_config(mosquitto.port, tmp_path / "right", [], station="qd-right"), fsync=False)
    behind = Agent(station_config(mosquitto.port, tmp_path / "behind", [], station="qd-behind"), fsync=False,
                   now=lambda: datetime.now(UTC) - BEHIND)
    # Asked about every 2 s here (every 15 minutes in production): the first within 2 s of the agents' coming online.
    checks = TimeChecks(2.0, random.Random(3))
    sender = Sender(lambda: connect(Settings(mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}"), f"sender-{name}"),
                    checks)
    factory = make_session_factory(engine)
    try:
        with AgentThread(right), AgentThread(behind):
            poll(lambda: _online(engine, {"qd-right", "qd-behind"}), timeout=60, what="both agents online")

            def answered() -> bool:
                send_pass(factory, sender, datetime.now(UTC))
                found = _answers(engine)
                return len(found.get("qd-right", [])) >= 2 and len(found.get("qd-behind", [])) >= 2

            poll(answered, timeout=120, interval=0.2, what="two answers from each agent stored")
    finally:
        sender.close()
        ingester.stop()
    found = _answers(engine)
    assert all(answered >= asked for answered, asked in found["qd-right"])  # a right clock answers after the question
    assert all(BEHIND - timedelta(seconds=10) < asked - answered <= BEHIND for answered, asked in found["qd-behind"])
    worker_once(engine)
    days = {answered.astimezone(SHANGHAI).date() for answered, _ in found["qd-behind"]}
    with factory() as session:
        rows = {(r.station_id, r.local_date): r.record for r in session.scalars(select(DayRow))}
        alerts = {a.cause_key: a for a in session.scalars(select(Alert))}
    for day in days:
        record = rows[("qd-behind", day)]
        assert "clock_behind" in record["flags"] and record["verdict"] == "unknown"
        alert = alerts[f"anomaly:clock-behind:qd-behind:{day.isoformat()}"]
        assert (alert.kind, alert.level) == ("sensor_anomaly", "town")
    assert not any("clock_behind" in record["flags"] for (station, _), record in rows.items() if station == "qd-right")
    assert not any(key.startswith("anomaly:clock-behind:qd-right") for key in alerts)
