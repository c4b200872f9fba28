"""A network outage: the agent keeps the heartbeats it could not send and sends them after, so the cloud learns it
was alive throughout (a door-only station's quiet hours would otherwise be unknown, an equipment-off day)."""

import signal
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import yaml

from simulators.modbus_counter import ModbusCounterSim, SimCounter
from station_protocol import Heartbeat
from tests.edge.conftest import Subscriber, subscribe
from tests.edge.test_outage import agent_said, start_agent
from tests.localservices import Mosquitto
from tests.wait import poll


def kept_heartbeats(outbox: Path) -> int:
    if not outbox.exists():
        return 0
    with sqlite3.connect(outbox, timeout=5) as db:
        try:
            return int(db.execute("SELECT count(*) FROM outbox WHERE kind = 'heartbeat'").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def test_heartbeats_of_an_outage_arrive_after_it(mosquitto: Mosquitto, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.sqlite3"
    with ModbusCounterSim([SimCounter(1)], tmp_path / "ttyUSB0") as sim:
        config = tmp_path / "station.yaml"
        config.write_text(yaml.safe_dump({
            "station": "qd-beat-01", "name": "断网心跳站", "grade": "2A", "town": "汇龙镇", "address": "x",
            "mqtt": {"host": "127.0.0.1", "port": mosquitto.port, "tls": False, "password_env": None,
                     "reconnect_min_s": 0.2, "reconnect_max_s": 0.5},
            "agent": {"outbox": str(outbox), "clock_check": "year", "heartbeat_s": 0.3},
            "devices": [{"type": "counter", "id": "flow-1", "port": str(sim.port), "unit": 1, "interval_s": 1.0,
                         "timeout_s": 0.2}],
        }, allow_unicode=True))
        mosquitto.stop()
        log = tmp_path / "agent.log"
        agent = start_agent(config, log)
        try:
            poll(lambda: kept_heartbeats(outbox) >= 3, 60, "heartbeats kept while the broker is down")
            # Stopped and started again once a subscriber listens: the kept heartbeats outlive the agent's restart.
            agent.send_signal(signal.SIGTERM)
            agent.wait(15)
            kept = kept_heartbeats(outbox)
            back = datetime.now(UTC)
            mosquitto.start()
            subscriber: Subscriber = subscribe(mosquitto, "eldercare/v1/qd-beat-01/#")
            agent = start_agent(config, log)

            def beats() -> list[Heartbeat]:
                return [m for m in agent_said(subscriber) if isinstance(m, Heartbeat)]

            def during() -> set[datetime]:  # at least once: a resend carries the same time, one heartbeat to the cloud
                return {m.ts for m in beats() if m.ts < back}

            poll(lambda: len(during()) >= kept, 60, "the outage's heartbeats delivered")
            poll(lambda: kept_heartbeats(outbox) == 0, 30, "the kept heartbeats acknowledged and deleted")
            poll(lambda: any(m.ts >= back for m in beats()), 30, "live heartbeats again")
            assert len(during()) == kept  # each as it was, at its own time
        finally:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(15)
            except subprocess.TimeoutExpired:
                agent.kill()
                raise
