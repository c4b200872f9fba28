"""Provisioning against a real Mosquitto: per-station ACL, no anonymous access, TLS with the generated CA."""

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from cloud.provision.passwords import mosquitto_hash, write_password_file
from eldercare.groups import cloud
from tests.localservices import run_mosquitto
from tests.provision.broker import credential, provisioned_broker
from tests.wait import poll


@pytest.fixture(scope="module")
def broker_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int, int]]:
    """`provision broker` output for stations qd-a and qd-b, served by a real Mosquitto from its mosquitto.conf."""
    with provisioned_broker(tmp_path_factory.mktemp("broker")) as broker:
        yield broker.out, broker.plain, broker.tls


class Client:
    """A paho v5 client that records what it receives and the broker's answers."""

    def __init__(self, port: int, user: str | None, password: str | None, ca: Path | None = None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.connack: ReasonCode | None = None
        self.suback: list[ReasonCode] = []
        self.puback: list[ReasonCode] = []
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        if user is not None:
            self.client.username_pw_set(user, password)
        if ca is not None:
            self.client.tls_set(ca_certs=str(ca))
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = lambda _c, _u, _m, code, _p: self.puback.append(code)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        self.connack = reason
        self.ready.set()

    def _on_subscribe(self, _c: mqtt.Client, _u: object, _m: int, codes: list[ReasonCode], _p: object) -> None:
        self.suback.extend(codes)
        self.ready.set()

    def wait(self) -> None:
        assert self.ready.wait(10)
        self.ready.clear()

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        self.wait()

    def publish(self, topic: str, payload: bytes = b"{}") -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def connected(port: int, user: str | None, password: str | None, ca: Path | None = None) -> Iterator[Client]:
    client = Client(port, user, password, ca)
    client.wait()
    try:
        yield client
    finally:
        client.close()


def test_a_station_publishes_only_as_itself(broker_dir: tuple[Path, int, int]) -> None:
    out, plain, _ = broker_dir
    with connected(plain, "eldercare-ingest", credential(out, "eldercare-ingest")) as ingester:
        ingester.subscribe("eldercare/v1/#")
        with connected(plain, "qd-a", credential(out, "qd-a")) as a:
            a.publish("eldercare/v1/qd-a/door-1/door", b"mine")
            a.publish("eldercare/v1/qd-b/door-1/door", b"spoofed")
        # Debian's Mosquitto 2.0.11 (from +deb12u2) also closes the link of a client that published where it may
        # not; earlier builds keep it open. Either way the station's next connection publishes as itself.
        with connected(plain, "qd-a", credential(out, "qd-a")) as again:
            again.publish("eldercare/v1/qd-a/door-1/door", b"after")
        poll(lambda: len(ingester.messages) >= 2, 10, "two messages at the ingester", interval=0.02)
    mine = "eldercare/v1/qd-a/door-1/door"
    assert ingester.messages == [(mine, b"mine"), (mine, b"after")]
    assert [code.is_failure for code in a.puback] == [False, True]  # 0x87 not authorised
    assert str(a.puback[1]) == "Not authorized" and again.puback[0].is_failure is False


def test_a_station_reads_only_its_own_commands(broker_dir: tuple[Path, int, int]) -> None:
    out, plain, _ = broker_dir
    with connected(plain, "eldercare-worker", credential(out, "eldercare-worker")) as worker, \
            connected(plain, "qd-a", credential(out, "qd-a")) as a, \
            connected(plain, "qd-b", credential(out, "qd-b")) as b:
        a.subscribe("eldercare/v1/qd-b/cmd/#")
        a.subscribe("eldercare/v1/qd-a/cmd/#")
        b.subscribe("eldercare/v1/qd-b/cmd/#")
        worker.publish("eldercare/v1/qd-b/cmd/call-ack", b"for b")
        worker.publish("eldercare/v1/qd-a/cmd/call-ack", b"for a")
        poll(lambda: bool(a.messages and b.messages), 10, "a message at each station", interval=0.02)
    # Mosquitto grants the subscription but never delivers B's commands to A.
    assert a.messages == [("eldercare/v1/qd-a/cmd/call-ack", b"for a")]
    assert b.messages == [("eldercare/v1/qd-b/cmd/call-ack", b"for b")]


@pytest.mark.parametrize(("user", "password"), [(None, None), ("qd-a", "wrong"), ("nobody", "x")])
def test_anonymous_and_wrong_passwords_are_refused(broker_dir: tuple[Path, int, int], user: str | None,
                                                   password: str | None) -> None:
    _, plain, _ = broker_dir
    with connected(plain, user, password) as client:
        assert client.connack is not None and client.connack.is_failure


def test_tls_listener_with_the_generated_ca(broker_dir: tuple[Path, int, int]) -> None:
    out, _, tls = broker_dir
    with connected(tls, "qd-a", credential(out, "qd-a"), ca=out / "tls" / "ca.crt") as a:
        assert a.connack is not None and not a.connack.is_failure
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.tls_set()  # the system's CAs do not know the development CA
    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        client.connect("127.0.0.1", tls)


def test_python_hashes_are_read_by_mosquitto(tmp_path: Path) -> None:
    write_password_file(tmp_path / "passwd", {"qd-a": "s3cret"}, use_binary=False)
    with run_mosquitto(f"password_file {tmp_path / 'passwd'}\n", anonymous=False) as broker, \
            connected(broker.port, "qd-a", "s3cret") as good, connected(broker.port, "qd-a", "nope") as bad:
        assert good.connack is not None and not good.connack.is_failure
        assert bad.connack is not None and bad.connack.is_failure


def test_hash_format_matches_mosquitto_passwd(tmp_path: Path) -> None:
    write_password_file(tmp_path / "passwd", {"u": "pw"})  # through the binary
    _, _, iterations, salt, digest = (tmp_path / "passwd").read_text().strip().split(":", 1)[1].split("$")
    assert mosquitto_hash("pw", base64.b64decode(salt), int(iterations)).endswith(digest)
    assert (tmp_path / "passwd").stat().st_mode & 0o777 == 0o600


def test_provision_station_adds_one_and_keeps_passwords(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cloud, ["provision", "station", "qd-new", "--out", str(tmp_path)])
    assert first.exit_code == 0, first.output
    password = credential(tmp_path, "qd-new")
    again = runner.invoke(cloud, ["provision", "station", "qd-other", "--out", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert credential(tmp_path, "qd-new") == password
    acl = (tmp_path / "acl").read_text()
    assert "user qd-new\ntopic write eldercare/v1/qd-new/+/call\n" in acl
    assert "topic write eldercare/v1/qd-new/agent/status\ntopic read eldercare/v1/qd-new/cmd/#\n" in acl
    assert "eldercare/v1/qd-new/#" not in acl  # never its own cmd/ topics
    assert "user qd-other" in acl
    bad = runner.invoke(cloud, ["provision", "station", "QD/X", "--out", str(tmp_path)])
    assert bad.exit_code == 1 and "only a-z, 0-9 and '-'" in bad.output
