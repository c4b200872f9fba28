"""A station that simply does not answer the cloud's time checks (an older agent, or one edited not to answer: here a
bare MQTT client publishing the station's door, counts and heartbeats and ignoring every `cmd/time-check`), beside an
honest agent, with the real parts: `eldercare cloud sender`'s checks through Mosquitto, the ingester into the store,
`eldercare cloud worker --once` judging them. The silent station's day, heard live while its checks went unanswered,
is flagged `clock_unanswered`, counts nowhere and alerts its town; the honest agent's day is not flagged."""

import random
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, select

from cloud.alerts.sender import Sender, connect, send_pass
from cloud.alerts.time_checks import TimeChecks
from cloud.ingest.config import IngestConfig
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import Ingester
from cloud.ingest.stations import StationCache
from cloud.rules.config import RulesConfig
from cloud.settings import Settings
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult as DayRow
from cloud.store.models import Alert, Event
from cloud.store.time_checks import TimeCheckAsked
from edge.agent import Agent
from station_protocol import Door, Flow, Heartbeat, encode
from station_protocol.topics import agent_topic, device_topic
from tests.edge.conftest import AgentThread, station_config
from tests.faults.conftest import registered_store, worker_once
from tests.localservices import Mosquitto
from tests.wait import poll

SHANGHAI = ZoneInfo("Asia/Shanghai")
SILENT, HONEST = "qd-silent", "qd-honest"
NEEDED = RulesConfig().clock_unanswered_checks


class SilentStation:
    """The station's own MQTT client: publishes what an agent would (door, counts, heartbeats stamped by a clock
    nobody can check) and never answers a time check."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{SILENT}-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(f"eldercare/v1/{SILENT}/cmd/#", qos=1)  # it hears the checks, and ignores them
        self.seq = 0

    def _send(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def door_open(self) -> None:
        self.seq += 1
        door = Door.model_validate({"v": 1, "id": uuid.uuid4(), "station": SILENT, "device": "door-1",
                                    "seq": self.seq, "ts": datetime.now(UTC), "state": "open"})
        self._send(str(device_topic(SILENT, "door-1", "door")), encode(door))

    def beat(self) -> None:
        """A heartbeat and a count of one entry: the station is heard live."""
        now = datetime.now(UTC)
        self._send(str(agent_topic(SILENT, "heartbeat")),
                   encode(Heartbeat(v=1, station=SILENT, ts=now, version="0.9", uptime_s=1.0, outbox=0)))
        self.seq += 1
        flow = Flow.model_validate({"v": 1, "id": uuid.uuid4(), "station": SILENT, "device": "counter-1",
                                    "seq": self.seq, "ts": now, "period_s": 60, "in": 1, "out": 0})
        self._send(str(device_topic(SILENT, "counter-1", "flow")), encode(flow))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def _ingesting(engine: Engine, port: int) -> Iterator[None]:
    cache = StationCache(engine, miss_interval=0.0)
    cache.refresh()
    name = uuid.uuid4().hex[:8]
    ingester = Ingester(IngestConfig(port=port, client_id=f"un-{name}", batch_ms=20, group=f"g{name}"),
                        engine, cache, IngestMetrics(), None)
    ingester.start(connect_timeout=10)
    try:
        yield
    finally:
        ingester.stop()


def _asked(engine: Engine) -> dict[str, list[tuple[str, datetime]]]:
    out: dict[str, list[tuple[str, datetime]]] = {}
    with make_session_factory(engine)() as session:
        for row in session.scalars(select(TimeCheckAsked).order_by(TimeCheckAsked.asked_at)):
            out.setdefault(row.station_id, []).append((row.check_id, row.asked_at))
    return out


def _answered(engine: Engine) -> set[str]:
    with make_session_factory(engine)() as session:
        return {p["check"] for p in session.scalars(select(Event.payload).where(Event.kind == "heartbeat"))
                if p.get("check")}


def _last_received(engine: Engine, station: str) -> datetime | None:
    with make_session_factory(engine)() as session:
        return session.scalar(select(Event.received_at).where(Event.station_id == station)
                              .order_by(Event.received_at.desc()).limit(1))


@pytest.mark.timeout(300)
def test_a_station_that_answers_no_time_check_counts_nowhere_its_honest_neighbour_does(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", [SILENT, HONEST])
    honest = Agent(station_config(mosquitto.port, tmp_path / "honest", [], station=HONEST), fsync=False)
    # Asked about every 2 s here (every 15 minutes in production).
    sender = Sender(lambda: connect(Settings(mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}"), "sender-un"),
                    TimeChecks(2.0, random.Random(5)))
    factory = make_session_factory(engine)
    silent = SilentStation(mosquitto.port)
    try:
        with _ingesting(engine, mosquitto.port), AgentThread(honest):
            silent.door_open()
            silent.beat()
            poll(lambda: _last_received(engine, SILENT), timeout=30, what="the silent station heard")

            def enough() -> bool:
                silent.beat()
                send_pass(factory, sender, datetime.now(UTC))
                asked = _asked(engine)
                mine = [c for c, _ in asked.get(HONEST, [])]
                return (len(asked.get(SILENT, [])) >= 2 * NEEDED + 1 and len(mine) >= 2
                        and set(mine) <= _answered(engine))

            poll(enough, timeout=120, interval=0.2, what="the checks asked, the honest agent's all answered")
            # One more message from the silent station after its last check: it was heard live throughout.
            last_ask = _asked(engine)[SILENT][-1][1]
            silent.beat()
            poll(lambda: (_last_received(engine, SILENT) or last_ask) > last_ask, timeout=30,
                 what="the silent station heard after its last check")
    finally:
        sender.close()
        silent.close()
    assert not {c for c, _ in _asked(engine)[SILENT]} & _answered(engine)  # it answered nothing
    worker_once(engine)
    per_day = Counter(at.astimezone(SHANGHAI).date() for _, at in _asked(engine)[SILENT])
    days: list[date] = [d for d, n in per_day.items() if n >= NEEDED]
    assert days  # the checks of one run fall in one day, or in two across midnight, one of them with enough
    with factory() as session:
        rows = {(r.station_id, r.local_date): r.record for r in session.scalars(select(DayRow))}
        alerts = {a.cause_key: a for a in session.scalars(select(Alert))}
    for day in days:
        record = rows[(SILENT, day)]
        assert "clock_unanswered" in record["flags"], record["flags"]
        assert record["verdict"] in ("unknown", "not_scheduled") and record["person_times"] == 0
        assert record["time_checks"] == 0 and record["time_checks_unanswered"] == per_day[day]
        alert = alerts[f"anomaly:clock-unanswered:{SILENT}:{day.isoformat()}"]
        assert (alert.kind, alert.level) == ("sensor_anomaly", "town")
    honest_days = [record for (station, _), record in rows.items() if station == HONEST]
    assert honest_days and sum(r["time_checks"] for r in honest_days) >= 2
    assert not any("clock_unanswered" in r["flags"] or "clock_behind" in r["flags"] for r in honest_days)
    assert not any(key.startswith(f"anomaly:clock-unanswered:{HONEST}") for key in alerts)
