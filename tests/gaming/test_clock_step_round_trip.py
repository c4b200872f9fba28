"""The offline clock shift with the real parts: two station agents on a real Mosquitto, the ingester storing what they
send, `eldercare cloud worker --once` judging it. The broker goes away (the station's network cut for the opening);
while it is away one agent's clock is put back 30 minutes, then right again before the network is back. No time check
can reach it meanwhile; its heartbeats are kept in its outbox and arrive afterwards as an ordinary backlog, each with
its boot and seconds since boot (cloud.rules.clock_steps). The day is flagged `clock_stepped` and judged on nothing,
its town alerted; the honest twin, offline alike with its backlog arriving alike, has nothing.

Both agents' clocks and the ingester's are injected: a fixed Tuesday that runs with real time, so the test depends on
no date. The boot clock is the host's own."""

import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from cloud.ingest.config import IngestConfig
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import Ingester
from cloud.ingest.stations import StationCache
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult as DayRow
from cloud.store.models import Alert, Event
from edge.agent import Agent
from tests.edge.conftest import AgentThread, station_config
from tests.edge.test_outage_heartbeats import kept_heartbeats
from tests.faults.conftest import registered_store, worker_once
from tests.localservices import Mosquitto
from tests.wait import poll

SHANGHAI = ZoneInfo("Asia/Shanghai")
TUESDAY = date(2026, 10, 13)
BASE = datetime(2026, 10, 13, 8, 0, tzinfo=SHANGHAI)
BACK = timedelta(minutes=30)


class SimClock:
    """BASE plus the real time elapsed since the test began: the station's true time, and the cloud's."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self) -> datetime:
        return (BASE + timedelta(seconds=time.monotonic() - self.started)).astimezone(UTC)


def _agent(mosquitto: Mosquitto, workdir: Path, station: str, now: Callable[[], datetime]) -> Agent:
    config = station_config(mosquitto.port, workdir, [], station=station)
    config = config.model_copy(update={"mqtt": config.mqtt.model_copy(update={"reconnect_min_s": 0.2,
                                                                             "reconnect_max_s": 0.5})})
    return Agent(config, fsync=False, heartbeat_s=0.2, now=now)


def _beats(engine: Engine, station: str) -> list[tuple[datetime, dict[str, object]]]:
    with make_session_factory(engine)() as session:
        rows = session.execute(select(Event.ts, Event.payload).where(Event.station_id == station,
                                                                     Event.kind == "heartbeat").order_by(Event.ts))
        return [(ts, dict(payload)) for ts, payload in rows]


@pytest.mark.timeout(300)
def test_a_clock_set_back_while_offline_is_found_through_ingest_and_the_worker(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", ["qd-honest", "qd-stepped"])
    clock = SimClock()
    shift = [timedelta(0)]
    honest = _agent(mosquitto, tmp_path / "honest", "qd-honest", clock)
    stepped = _agent(mosquitto, tmp_path / "stepped", "qd-stepped", lambda: clock() + shift[0])
    cache = StationCache(engine, miss_interval=0.0)
    cache.refresh()
    name = uuid.uuid4().hex[:8]
    ingester = Ingester(IngestConfig(port=mosquitto.port, client_id=f"steps-{name}", batch_ms=20, group=f"g{name}"),
                        engine, cache, IngestMetrics(), None, clock=clock)
    ingester.start(connect_timeout=10)
    outboxes = {"qd-honest": honest.outbox.path, "qd-stepped": stepped.outbox.path}
    try:
        with AgentThread(honest), AgentThread(stepped):
            poll(lambda: all(len(_beats(engine, s)) >= 2 for s in outboxes), timeout=60,
                 what="both agents' heartbeats stored")
            # The network cut: every heartbeat from now on is kept in the agent's outbox.
            mosquitto.stop()

            def kept(n: int) -> bool:
                return all(kept_heartbeats(path) >= n for path in outboxes.values())

            poll(lambda: kept(3), timeout=60, what="heartbeats kept while offline")
            shift[0] = -BACK  # `date -s` half an hour back (or the station's own NTP server)
            poll(lambda: kept(8), timeout=60, what="heartbeats kept by the clock set back")
            shift[0] = timedelta(0)  # right again before the network is back
            poll(lambda: kept(13), timeout=60, what="heartbeats kept after the clock was set right")
            back = clock()
            mosquitto.start()
            # Once a heartbeat stamped after the network came back is stored, the backlog before it is (one
            # connection's messages arrive in order), and the outboxes are empty.
            poll(lambda: all(kept_heartbeats(path) == 0 and any(ts.replace(tzinfo=UTC) > back
                                                                for ts, _ in _beats(engine, s))
                             for s, path in outboxes.items()),
                 timeout=120, what="the kept heartbeats delivered and live ones stored after them")
    finally:
        ingester.stop()
    stored = _beats(engine, "qd-stepped")
    assert all(p.get("boot") and p.get("boot_s") is not None for _, p in stored)  # the agent filled them in
    early = [ts for ts, _ in stored if ts.replace(tzinfo=UTC) < BASE - timedelta(minutes=20)]
    assert early, "the heartbeats of the clock set back are stored, stamped half an hour early"

    worker_once(engine)
    with make_session_factory(engine)() as session:
        rows = {r.station_id: r.record for r in session.scalars(select(DayRow).where(DayRow.local_date == TUESDAY))}
        alerts = {a.cause_key: a for a in session.scalars(select(Alert))}
    day = rows["qd-stepped"]
    assert "clock_stepped" in day["flags"] and day["verdict"] == "unknown"
    assert day["clock_stepped_minutes"] == pytest.approx(30.0, abs=0.1)
    assert any("set back by 30 min" in n for n in day["notes"]) and any("set forward by 30 min" in n
                                                                        for n in day["notes"])
    alert = alerts[f"anomaly:clock-stepped:qd-stepped:{TUESDAY.isoformat()}"]
    assert (alert.kind, alert.level) == ("sensor_anomaly", "town")
    twin = rows["qd-honest"]
    assert "clock_stepped" not in twin["flags"] and twin["clock_stepped_minutes"] is None
    assert not any("clock was set" in n for n in twin["notes"])
    assert not any(key.startswith("anomaly:clock-stepped:qd-honest") for key in alerts)
