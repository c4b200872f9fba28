"""TLS and per-station credentials against a real Mosquitto with a TLS listener and a password file."""

import logging
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.agent import Agent
from firmware_config.station import StationConfig
from station_protocol import Door, Status, decode
from tests.edge.conftest import AgentThread
from tests.localservices import free_port, run_mosquitto, wait_for_port
from tests.wait import poll

STATION = "qd-tls-01"


def make_certs(where: Path) -> None:
    """A CA and a server certificate for 127.0.0.1, with openssl."""
    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=where, check=True, capture_output=True)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr")
    (where / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "san.ext", "-out", "server.pem")


def config(port: int, tmp_path: Path, password_file: Path) -> StationConfig:
    return StationConfig.model_validate({
        "station": STATION, "name": "加密站", "grade": "2A", "town": "t", "address": "a",
        "mqtt": {"host": "127.0.0.1", "port": port, "tls": True, "ca_file": str(tmp_path / "ca.pem"),
                 "password_file": str(password_file), "reconnect_min_s": 0.2, "reconnect_max_s": 0.5},
        "agent": {"outbox": str(tmp_path / "outbox.db"), "clock_check": "year"},
        "devices": [{"type": "door", "id": "door-1", "pin": 17}],
    })


def test_agent_over_tls_with_its_own_credentials(tmp_path: Path, mock_pins: Any,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    make_certs(tmp_path)
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), STATION, "s3cret-station"], check=True)
    subprocess.run(["mosquitto_passwd", "-b", str(passwords), "cloud", "s3cret-cloud"], check=True)
    tls_port = free_port()
    extra = (f"password_file {passwords}\n"
             f"listener {tls_port} 127.0.0.1\ncafile {tmp_path}/ca.pem\ncertfile {tmp_path}/server.pem\n"
             f"keyfile {tmp_path}/server.key\n")
    with run_mosquitto(extra_config=extra, anonymous=False, workdir=tmp_path) as broker:
        wait_for_port(tls_port)
        received: list[tuple[str, bytes]] = []
        cloud = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        cloud.username_pw_set("cloud", "s3cret-cloud")
        cloud.on_message = lambda _c, _u, m: received.append((m.topic, bytes(m.payload)))
        subscribed = threading.Event()
        cloud.on_subscribe = lambda *_a: subscribed.set()
        cloud.connect("127.0.0.1", broker.port)
        cloud.subscribe("eldercare/v1/#", qos=1)
        cloud.loop_start()
        assert subscribed.wait(10), "no SUBACK for the cloud's subscription"

        wrong = tmp_path / "wrong-password"
        wrong.write_text("guess\n")
        with caplog.at_level(logging.WARNING, logger="edge.publisher"), \
                AgentThread(Agent(config(tls_port, tmp_path, wrong), fsync=False)):
            poll(lambda: "refused" in caplog.text, 10, "the broker's refusal logged")
        assert "broker refused the connection" in caplog.text
        assert not received  # nothing got in with the wrong password

        right = tmp_path / "mqtt-password"
        right.write_text("s3cret-station\n")
        fixed = datetime.now(UTC)
        with AgentThread(Agent(config(tls_port, tmp_path, right), fsync=False)):
            poll(lambda: any(t.endswith("/door") for t, _ in received), 10, "the held door event delivered")
        cloud.loop_stop()
    messages = [decode(t, p).message for t, p in received]
    assert any(isinstance(m, Status) and m.online for m in messages)
    # The door event stored while the password was wrong is delivered once the right one is in place.
    assert [m.ts < fixed for m in messages if isinstance(m, Door)][:1] == [True]
