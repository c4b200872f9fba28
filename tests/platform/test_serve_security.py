"""`eldercare serve` attacked from the network, with both brokers: forged tokens, anonymous and over-reaching MQTT
clients. Each attack worked before the platform was made secure by default; each is refused here."""

import json
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import httpx
import jwt
import pytest
from sqlalchemy import create_engine, text

from station_protocol import Door, encode, new_event_id
from station_protocol.topics import device_topic
from tests.localservices import free_port
from tests.platform.mqtt_probe import probe
from tests.platform.support import add_user, env_for, login, running
from tests.wait import poll

STATIONS = ("qd-a", "qd-b")


def door_event(station: str, seq: int) -> tuple[str, bytes]:
    message = Door.model_validate({"v": 1, "id": UUID(new_event_id()), "station": station, "device": "door-1",
                                   "seq": seq, "ts": datetime.now(UTC), "state": "open"})
    return str(device_topic(station, "door-1", "door")), encode(message)


def provision(data_dir: Path, station: str, config_dir: Path) -> dict[str, object]:
    result = subprocess.run([sys.executable, "-m", "eldercare", "cloud", "provision", "station", station,
                             "--data-dir", str(data_dir), "--config-dir", str(config_dir), "--json"],
                            env=env_for(data_dir), capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def stored(data_dir: Path) -> list[tuple[str, str]]:
    engine = create_engine(f"sqlite:///{data_dir / 'eldercare.db'}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT station_id, device_id FROM events WHERE kind = 'door'"))
            return sorted((str(r[0]), str(r[1])) for r in rows)
    finally:
        engine.dispose()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("broker", ["mosquitto", "embedded"])
def test_serve_refuses_forged_tokens_and_unauthorised_mqtt_clients(tmp_path: Path, broker: str) -> None:
    data = tmp_path / "data"
    csv = tmp_path / "stations.csv"
    csv.write_text("station_id,name,town,grade,weekdays,hours\n" +
                   "".join(f"{s},站{s},镇,3A,1-7,00:00-23:59\n" for s in STATIONS), encoding="utf-8")
    port, mqtt_port = free_port(), free_port()
    args = ["serve", "--data-dir", str(data), "--port", str(port), "--mqtt-port", str(mqtt_port),
            "--stations", str(csv), "--broker", broker]
    with running(args, data, port) as serve:
        serve.wait_for_line("dashboard: http://127.0.0.1", timeout=120)

        # The token key: made at random on first start, kept in the data directory for the owner only.
        key_file = data / "secret_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_text().strip()) >= 32

        # Forged bureau logins: signed with the keys people leave in place. A real login still works.
        add_user(data, "admin", "bureau")
        real = login(serve.api, "admin")
        assert httpx.get(f"{serve.api}/auth/me", headers=real, timeout=30).status_code == 200
        now = datetime.now(UTC)
        claims = {"sub": "1", "name": "admin", "iat": now, "exp": now + timedelta(hours=1)}
        for key in ("change-me", "", "secret"):
            forged = jwt.encode(claims, key, algorithm="HS256")
            answer = httpx.get(f"{serve.api}/auth/me", headers={"Authorization": f"Bearer {forged}"}, timeout=30)
            assert answer.status_code == 401, f"a token signed with {key!r} was accepted"

        # No anonymous MQTT client, no guessed password.
        with probe(mqtt_port) as anonymous:
            assert not anonymous.accepted
        with probe(mqtt_port, "qd-a", "change-me") as guessed:
            assert not guessed.accepted

        # Provisioning a station while serve runs: the broker honours it within seconds, without a restart.
        a = provision(data, "qd-a", tmp_path / "configs")
        assert set(a) == {"station", "username", "password", "host", "port"}
        assert (a["station"], a["username"], a["host"], a["port"]) == ("qd-a", "qd-a", "127.0.0.1", mqtt_port)
        b = provision(data, "qd-b", tmp_path / "configs")

        def connects(user: dict[str, object]) -> bool:
            with probe(mqtt_port, str(user["username"]), str(user["password"])) as client:
                return client.accepted

        poll(lambda: connects(a) and connects(b), timeout=30, interval=0.5, what="the provisioned stations accepted")
        worker_password = (data / "broker" / "credentials" / "eldercare-worker.password").read_text().strip()

        with probe(mqtt_port, "qd-b", str(b["password"])) as station_b, \
                probe(mqtt_port, "qd-a", str(a["password"])) as station_a:
            station_b.subscribe("eldercare/v1/qd-b/cmd/#")
            # qd-a tries to read everyone's traffic; a subscription it may hold tells when a sentinel arrives.
            for topic_filter in ("#", "eldercare/v1/#", "eldercare/v1/qd-a/cmd/#"):
                station_a.subscribe(topic_filter)

            # Its own event is stored; one for qd-b is not.
            station_a.publish(*door_event("qd-a", 1))
            poll(lambda: stored(data) == [("qd-a", "door-1")], timeout=30, interval=0.5,
                 what="qd-a's own door event stored")
            # Each forgery on its own connection: Mosquitto closes the link of a client that published where it
            # may not. Then forged acknowledgements of qd-b's emergency call, and of its own.
            forged_ack = b'{"v":1,"forged":true}'
            for topic, payload in (door_event("qd-b", 1), ("eldercare/v1/qd-b/cmd/call-ack", forged_ack),
                                   ("eldercare/v1/qd-a/cmd/call-ack", forged_ack)):
                with probe(mqtt_port, "qd-a", str(a["password"])) as spoofer:
                    spoofer.publish(topic, payload)

            # qd-b's real traffic, then the worker's real commands: qd-a must see only its own command.
            station_b.publish(*door_event("qd-b", 2))
            with probe(mqtt_port, "eldercare-worker", worker_password) as worker:
                worker.publish("eldercare/v1/qd-b/cmd/call-ack", b"real-b")
                worker.publish("eldercare/v1/qd-a/cmd/call-ack", b"real-a")
            poll(lambda: ("eldercare/v1/qd-b/cmd/call-ack", b"real-b") in station_b.messages, timeout=30,
                 what="qd-b's real command")
            poll(lambda: ("eldercare/v1/qd-a/cmd/call-ack", b"real-a") in station_a.messages, timeout=30,
                 what="qd-a's real command")
            poll(lambda: ("qd-b", "door-1") in stored(data), timeout=30, interval=0.5, what="qd-b's own event stored")

        # Serve's sender may also have asked a station for its time meanwhile: its own check, a real command.
        def without_own_time_check(station: str, messages: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
            return [m for m in messages if m[0] != f"eldercare/v1/{station}/cmd/time-check"]

        assert without_own_time_check("qd-b", station_b.messages) == [("eldercare/v1/qd-b/cmd/call-ack", b"real-b")]
        assert set(without_own_time_check("qd-a", station_a.messages)) == {("eldercare/v1/qd-a/cmd/call-ack",
                                                                             b"real-a")}
        assert stored(data) == [("qd-a", "door-1"), ("qd-b", "door-1")]  # qd-a's forgery for qd-b is not there

        assert serve.stop() == 0
