"""The command sender: its own process publishes what the API queued, with no worker running; a malformed command or
a broker that is away leaves the queue intact. Real store (SQLite and PostgreSQL) and a real Mosquitto."""

import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from cloud.alerts import service
from cloud.alerts.sender import Sender, connect, send_pass
from cloud.settings import Settings
from cloud.store.db import make_session_factory
from cloud.store.derived import OutgoingCommand
from cloud.store.models import Alert
from station_protocol import CallAck, decode
from tests.alerts.conftest import Commands
from tests.derive.conftest import feed
from tests.localservices import Mosquitto, free_port
from tests.rules.scenario import StationDay
from tests.wait import poll

MONDAY = date(2026, 10, 12)
PRESSED = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def press_and_acknowledge(store: Engine, call: str, by: str) -> None:
    """A press as ingest stores it (raising the alert), then acknowledged as the API does (queueing the call-ack)."""
    sd = StationDay("qd-a", MONDAY, calls=[(time(10, 0), call, "pressed")])
    feed(store, sd.messages(), received_at=PRESSED)
    with make_session_factory(store)() as session:
        alert = session.scalars(select(Alert).where(Alert.cause_key == f"call:qd-a:{call}")).one()
        service.acknowledge(session, alert.id, by=by, now=PRESSED + timedelta(minutes=1))
        session.commit()


def queue(store: Engine) -> list[OutgoingCommand]:
    with make_session_factory(store)() as session:
        return list(session.scalars(select(OutgoingCommand).order_by(OutgoingCommand.id)))


def test_the_sender_process_delivers_acknowledgements_with_no_worker_running(
        store: Engine, mosquitto: Mosquitto, commands: Commands, tmp_path: Path) -> None:
    press_and_acknowledge(store, "c-1", "王站长")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    env.update({"ELDERCARE_DATA_DIR": str(tmp_path), "ELDERCARE_MQTT_URL": f"mqtt://127.0.0.1:{mosquitto.port}",
                "ELDERCARE_DATABASE_URL": store.url.render_as_string(hide_password=False)})
    # Time checks off: this test counts the queue's commands (tests/alerts/test_time_checks.py has the checks).
    process = subprocess.Popen([sys.executable, "-m", "eldercare", "cloud", "sender", "--interval", "0.2",
                                "--time-check-minutes", "0"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        topic, payload = commands.wait(1, timeout=60)[0]
        assert topic == "eldercare/v1/qd-a/cmd/call-ack"
        ack = decode(topic, payload).message
        assert isinstance(ack, CallAck) and (ack.call, ack.by) == ("c-1", "王站长")
        # A call acknowledged while the sender runs goes out on its next look at the queue.
        press_and_acknowledge(store, "c-2", "dispatch-3")
        assert [decode(t, p).message.call for t, p in commands.wait(2, timeout=60)] == ["c-1", "c-2"]  # type: ignore[union-attr]
        poll(lambda: all(c.published_at is not None for c in queue(store)), timeout=30, what="sent marks")
        assert [(c.name, c.attempts, c.last_error) for c in queue(store)] == [("call-ack", 1, None)] * 2
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert len(commands.received) == 2  # each published once


def test_a_malformed_command_keeps_its_error_and_holds_back_no_other(
        store: Engine, mosquitto: Mosquitto, commands: Commands) -> None:
    factory = make_session_factory(store)
    with factory() as session:
        session.add(OutgoingCommand(station_id="qd-a", name="call-ack", payload={"v": 1, "by": "x"},
                                    created_at=PRESSED, attempts=0))  # no call id: the protocol refuses it
        session.commit()
    press_and_acknowledge(store, "c-3", "站长")
    sender = Sender(lambda: connect(Settings(mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}"), "test-sender"))
    try:
        assert send_pass(factory, sender, PRESSED + timedelta(minutes=2)) == 1
        assert send_pass(factory, sender, PRESSED + timedelta(minutes=3)) == 0
    finally:
        sender.close()
    bad, good = queue(store)
    assert bad.published_at is None and bad.attempts == 2 and "call" in (bad.last_error or "")
    assert good.published_at == PRESSED + timedelta(minutes=2) and good.attempts == 1
    assert [decode(t, p).message.call for t, p in commands.wait(1)] == ["c-3"]  # type: ignore[union-attr]


def test_with_the_broker_away_commands_stay_queued_until_it_is_back(store: Engine, mosquitto: Mosquitto,
                                                                    commands: Commands) -> None:
    press_and_acknowledge(store, "c-4", "站长")
    factory = make_session_factory(store)
    away = Sender(lambda: connect(Settings(mqtt_url=f"mqtt://127.0.0.1:{free_port()}"), "test-sender"))
    assert send_pass(factory, away, PRESSED + timedelta(minutes=2)) == 0
    assert away.client is None
    [waiting] = queue(store)
    assert waiting.published_at is None and waiting.attempts == 0
    back = Sender(lambda: connect(Settings(mqtt_url=f"mqtt://127.0.0.1:{mosquitto.port}"), "test-sender"))
    try:
        assert send_pass(factory, back, PRESSED + timedelta(minutes=5)) == 1
    finally:
        back.close()
    assert [decode(t, p).message.call for t, p in commands.wait(1)] == ["c-4"]  # type: ignore[union-attr]
