"""A reinstalled Pi replaying an outage: its readings, received late, fit the sequence numbers the cloud heard live from
the installation before it, and count.

The cloud sets aside a reading received late whose device `seq` contradicts its time against the readings it heard
live around it (docs/derivations.md, "Readings out of sequence"). A Pi reinstalled with a fresh outbox numbers its
devices from the clock in milliseconds, above the old installation's numbers: numbered from 0 again, its first
replay would be set aside as a fabrication.

Real agents (`eldercare edge run`) with a simulated Modbus counter, Mosquitto, an ingester whose clock the test moves
an hour on after the old installation stops (the new one's readings reach the cloud an hour after their time, as
after an hour's outage) and a worker pass."""

import sqlite3
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import Engine, func, select

from cloud.derive.runner import Partition, run_pass
from cloud.ingest.config import IngestConfig
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import Ingester
from cloud.ingest.stations import StationCache
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult as DayRow
from cloud.store.models import Event
from simulators.modbus_counter import ModbusCounterSim, SimCounter
from tests.edge.test_outage import start_agent
from tests.faults.conftest import registered_store
from tests.localservices import Mosquitto, free_port
from tests.wait import poll

STATION = "qd-reinstall-01"
LATE = timedelta(hours=1)


class _Clock:
    """The ingester's clock: the real one, moved on by `shift`."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


def _config(path: Path, outbox: Path, port: int, serial: str) -> Path:
    path.write_text(yaml.safe_dump({
        "station": STATION, "name": "重装站", "grade": "2A", "town": "汇龙镇", "address": "x",
        "mqtt": {"host": "127.0.0.1", "port": port, "tls": False, "password_env": None,
                 "reconnect_min_s": 0.2, "reconnect_max_s": 0.5},
        "agent": {"outbox": str(outbox), "clock_check": "year", "heartbeat_s": 1.0},
        "devices": [{"type": "counter", "id": "flow-1", "port": serial, "unit": 1, "interval_s": 1.0,
                     "timeout_s": 0.2}],
    }, allow_unicode=True))
    return path


def _flows(engine: Engine, late: bool | None = None) -> int:
    query = select(func.count()).select_from(Event).where(Event.station_id == STATION, Event.kind == "flow")
    with engine.connect() as c:
        rows = c.execute(select(Event.ts, Event.received_at).where(Event.station_id == STATION,
                                                                 Event.kind == "flow")).all()
        if late is None:
            return int(c.execute(query).scalar_one())
    return sum(1 for ts, at in rows if (at - ts > timedelta(minutes=30)) == late)


def _stop(agent: subprocess.Popen[bytes]) -> None:
    agent.terminate()
    try:
        agent.wait(15)
    except subprocess.TimeoutExpired:
        agent.kill()
        agent.wait()
        raise


def test_a_reinstalled_pi_replaying_an_outage_is_not_out_of_sequence(mosquitto: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", [STATION])
    clock = _Clock()
    cache = StationCache(engine, miss_interval=0.0)
    cache.refresh()
    name = uuid.uuid4().hex[:8]
    ingester = Ingester(IngestConfig(port=mosquitto.port, client_id=f"re-{name}", batch_ms=20, group=f"g{name}"),
                        engine, cache, IngestMetrics(), None, clock=clock)
    ingester.start(connect_timeout=10)
    counter = SimCounter(1)
    log = tmp_path / "agent.log"
    try:
        with ModbusCounterSim([counter], tmp_path / "ttyUSB0") as sim:
            # The old installation, heard live.
            old = start_agent(_config(tmp_path / "old.yaml", tmp_path / "old.sqlite3", mosquitto.port,
                                      str(sim.port)), log)
            try:
                for _ in range(5):
                    counter.add(1, 0)
                    before = _flows(engine)
                    poll(lambda: _flows(engine) > before, 30, "the old installation's counts heard live")  # noqa: B023
            finally:
                _stop(old)
            # Reinstalled: a fresh outbox, and the network down at first (nothing listens on its broker port).
            clock.shift = LATE
            new = tmp_path / "new.sqlite3"
            down = start_agent(_config(tmp_path / "down.yaml", new, free_port(), str(sim.port)), log)
            try:
                counter.add(2, 1)
                poll(lambda: new.exists() and new.stat().st_size > 0 and _waiting(new) >= 5, 30,
                     "the new installation's counts kept in its outbox")
            finally:
                _stop(down)
            kept = _waiting(new)
            heard = _flows(engine)
            back = start_agent(_config(tmp_path / "new.yaml", new, mosquitto.port, str(sim.port)), log)
            try:
                poll(lambda: _flows(engine) >= heard + kept + 2, 60, "the replay and the live counts after it")
            finally:
                _stop(back)
    finally:
        ingester.stop()
    assert _flows(engine, late=True) >= kept >= 5  # the replay (and what followed) reached the cloud late
    sessions = make_session_factory(engine)
    # The installations are seconds apart, well within the default slack between a reading's time and its number's
    # order; a counter's numbers follow its times exactly, so no slack: any contradiction would show.
    rules = RulesConfig(sequence_slack_s=0)
    assert run_pass(sessions, Partition(), rules, datetime.now(UTC) + 2 * LATE).errors == 0
    with sessions() as session:
        records = [r.record for r in session.scalars(select(DayRow).where(DayRow.station_id == STATION))]
    assert records and not any("readings_out_of_sequence" in r["flags"] for r in records), \
        [r["notes"] for r in records if r["notes"]]
    with engine.connect() as c:
        counted = sum(p["in"] for (p,) in c.execute(select(Event.payload).where(Event.station_id == STATION,
                                                                                  Event.kind == "flow")))
    assert counted >= 3 and sum(r["entries"] for r in records) == counted  # every count, the late ones too


def _waiting(outbox: Path) -> int:
    """Counts waiting in an outbox."""
    with sqlite3.connect(outbox, timeout=5) as db:
        try:
            return int(db.execute("SELECT count(*) FROM outbox WHERE kind = 'flow'").fetchone()[0])
        except sqlite3.OperationalError:
            return 0
