"""An honest station's last will, through Mosquitto, an ingester and `eldercare cloud worker`: the will the edge agent
sets when it connects is published by the broker when the connection dies days later, stamped with the moment it was
set. The day it names was heard live; it must not be flagged as filled in after the fact, nor its town alerted."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from cloud.derive.plans import create_plan
from cloud.ingest.config import IngestConfig
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import Ingester
from cloud.ingest.stations import StationCache
from cloud.rules.agent import agent_online
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult as DayRow
from cloud.store.derived import SpotCheckResult
from cloud.store.models import Alert, Device, Event
from edge.mqtt import new_client, status_payload
from firmware_config.station import MqttConfig
from station_protocol.topics import agent_topic
from tests.faults.conftest import registered_store, worker_once
from tests.gaming.attacks import FULL, Message, ts_of, visits
from tests.ingest.conftest import publish
from tests.localservices import Mosquitto
from tests.rules.scenario import TZ, StationDay
from tests.wait import poll

MONDAY = date(2026, 10, 12)
STATION = "qd-will"
CONNECTED = datetime.combine(MONDAY, time(7, 0, 0, 400_000), TZ)  # the agent (re)connected: its will's time
DIED = datetime.combine(MONDAY + timedelta(days=2), time(9, 1, 30), TZ)  # Wednesday: the broker publishes the will


class _Clock:
    """The ingester's clock, set by the test: the receipt time the store keeps."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def _stored(engine: Engine, kind: str | None = None) -> int:
    query = select(func.count()).select_from(Event).where(Event.station_id == STATION)
    with engine.connect() as c:
        return int(c.execute(query if kind is None else query.where(Event.kind == kind)).scalar_one())


def _rounds(messages: list[Message]) -> dict[datetime, list[Message]]:
    """Each message delivered at the end of its ten-minute round: received within ten minutes, live."""
    out: dict[datetime, list[Message]] = {}
    for m in messages:
        ts = ts_of(m)
        at = ts.replace(second=0, microsecond=0) + timedelta(minutes=10 - ts.minute % 10)
        out.setdefault(at, []).append(m)
    return out


@pytest.mark.timeout(300)
def test_a_last_will_published_days_later_flags_nothing(mosquitto: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", [STATION])
    clock = _Clock()
    name = uuid.uuid4().hex[:8]
    cache = StationCache(engine, miss_interval=0.0)
    cache.refresh()
    ingester = Ingester(IngestConfig(port=mosquitto.port, client_id=f"will-{name}", batch_ms=20, group=f"g{name}"),
                        engine, cache, IngestMetrics(), None, clock=clock)
    ingester.start(connect_timeout=10)
    try:
        # Monday, an open day heard live (heartbeats every five minutes, the door open, elders coming in).
        monday = StationDay(STATION, MONDAY, door=FULL, visits=visits(MONDAY)).messages()
        # As the agent does on connecting: `online: true`, just after the will it set.
        monday.append((str(agent_topic(STATION, "status")),
                       status_payload(STATION, True, CONNECTED + timedelta(milliseconds=100))))
        sent = 0
        for at, batch in sorted(_rounds(monday).items()):
            clock.now = at.astimezone(UTC)
            publish(mosquitto, batch)
            sent += len(batch)
            poll(lambda: _stored(engine) >= sent, timeout=60,  # noqa: B023 (called before the loop moves on)
                 what=f"Monday's messages of {at:%H:%M} stored")
        # Wednesday 09:01:30: the connection the agent made on Monday at 07:00 dies without a goodbye.
        clock.now = DIED.astimezone(UTC)
        config = MqttConfig(host="127.0.0.1", port=mosquitto.port, tls=False)
        agent = new_client(STATION, config, status_payload(STATION, False, CONNECTED))
        agent.connect("127.0.0.1", mosquitto.port, keepalive=60)
        agent.loop_start()
        poll(agent.is_connected, timeout=30, what="the agent connected")
        agent.loop_stop()
        sock = agent.socket()
        assert sock is not None
        sock.close()  # the power cut: no DISCONNECT
        poll(lambda: _stored(engine, "status") >= 2, timeout=60, what="the broker's last will stored")
    finally:
        ingester.stop()
    with engine.connect() as c:
        will = c.execute(select(Event.ts, Event.received_at, Event.local_date, Event.payload)
                         .where(Event.station_id == STATION, Event.kind == "status")
                         .order_by(Event.received_at.desc()).limit(1)).one()
    assert will.local_date == MONDAY and will.received_at.replace(tzinfo=UTC) - will.ts.replace(tzinfo=UTC) > \
        timedelta(days=2)
    with make_session_factory(engine)() as session:
        row = session.get(Device, (STATION, "agent"))
        assert row is not None
        # The retained status is still the newer `online: true`: the will is older. The agent is shown offline all
        # the same, as nothing has been heard from it since Monday evening.
        assert row.online is True
        assert agent_online(row.last_seen_at, row.online, row.last_health_at, DIED.astimezone(UTC),
                            timedelta(minutes=10)) is False

    with make_session_factory(engine)() as session:
        create_plan(session, day=MONDAY, start=time(9), end=time(10), scope="all", created_by="bureau",
                    now=datetime.now(UTC))
        session.commit()
    worker_once(engine)
    with make_session_factory(engine)() as session:
        record = session.scalars(select(DayRow).where(DayRow.station_id == STATION,
                                                      DayRow.local_date == MONDAY)).one().record
        spot = session.scalars(select(SpotCheckResult).where(SpotCheckResult.station_id == STATION)).one().result
        town = {a.cause_key for a in session.scalars(select(Alert).where(Alert.station_id == STATION))
                if a.level == "town"}
    assert "late_evidence" not in record["flags"], record["notes"]
    assert not any(key.startswith("anomaly:late-evidence:") for key in town), town
    assert (record["verdict"], spot) == ("open", "pass")
