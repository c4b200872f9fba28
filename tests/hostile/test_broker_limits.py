"""One station's oversized payloads and message floods are limited at the broker (the limits of
deploy/mosquitto/mosquitto.conf, read from that file) and do not starve the other stations."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, select

from cloud.store.models import Event
from tests.faults.conftest import ingester, registered_store
from tests.ingest.conftest import Station
from tests.localservices import Mosquitto, run_mosquitto
from tests.wait import poll

DEPLOYED = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "mosquitto.conf"
LIMITS = ("message_size_limit", "max_inflight_messages", "max_queued_messages")


def deployed_limits() -> str:
    """The production configuration's limit lines (not its TLS, password or ACL lines)."""
    lines = [ln.strip() for ln in DEPLOYED.read_text().splitlines() if ln.strip().startswith(LIMITS)]
    assert len(lines) == len(LIMITS), f"{DEPLOYED} lost one of {LIMITS}"
    return "\n".join(lines) + "\n"


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Mosquitto]:
    with run_mosquitto(deployed_limits(), workdir=tmp_path) as broker:
        yield broker


class Client:
    """A v5 client that records what it receives and the reason codes of its PUBACKs."""

    def __init__(self, port: int, client_id: str, subscribe: str | None = None) -> None:
        self.received: list[tuple[str, int]] = []
        self.acks: dict[int, Any] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.max_queued_messages_set(0)
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, len(m.payload)))
        self.client.on_publish = lambda _c, _u, mid, reason, _p: self.acks.__setitem__(mid, reason)
        ready = threading.Event()
        self.client.on_subscribe = lambda *_a: ready.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if subscribe:
            self.client.subscribe(subscribe, qos=1)
            assert ready.wait(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


BIG = ("eldercare/v1/qd-a/door-1/door", 100_002)
MARKER = "eldercare/v1/qd-b/door-1/health"


def _oversized(port: int, *, passed: bool) -> tuple[list[tuple[str, int]], Any]:
    """Station qd-a publishes 100 kB, then qd-b a normal message; what reaches a subscriber, and qd-a's PUBACK.

    Where the big message passes, wait for it. Where it must not, wait until qd-b's message is through and then for
    a marker qd-b sends after it: the subscriber's messages arrive in the order the broker took them, so anything
    the broker passed on from qd-a (sent before both) would be there by then."""
    sub = Client(port, "watch", "eldercare/v1/#")
    big, small = Client(port, "eldercare-qd-a"), Client(port, "eldercare-qd-b")
    info = big.client.publish(BIG[0], b"{" + b" " * 100_000 + b"}", qos=1)
    small.client.publish("eldercare/v1/qd-b/door-1/door", b"{}", qos=1).wait_for_publish(5)
    if passed:
        poll(lambda: BIG in sub.received, 10, "the 100 kB message passed on")
    else:
        poll(lambda: any(t.startswith("eldercare/v1/qd-b/") for t, _ in sub.received), 10, "qd-b's message")
        small.client.publish(MARKER, b"{}", qos=1).wait_for_publish(5)
        poll(lambda: any(t == MARKER for t, _ in sub.received), 10, "qd-b's marker after it")
    for c in (sub, big, small):
        c.close()
    return [r for r in sub.received if r[0] != MARKER], big.acks.get(info.mid)


# Mosquitto answers the oversized publish with PUBACK reason 0x95, which paho-mqtt 2.1 cannot name in a PUBACK: that
# client's network thread dies with a ValueError (see docs/reliability.md). The assertion does not need its answer.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_oversized_payload_is_refused_by_the_broker(mosquitto: Mosquitto, limited: Mosquitto) -> None:
    # The failure guarded against: a broker without the limit passes 100 kB on to every subscriber.
    received, _ = _oversized(mosquitto.port, passed=True)
    assert BIG in received
    # With the deployed limits it never leaves the broker, and qd-a learns why; qd-b is not affected.
    received, answer = _oversized(limited.port, passed=False)
    assert [t for t, _ in received] == ["eldercare/v1/qd-b/door-1/door"]
    # Never acknowledged as accepted (Mosquitto 2.0 drops it without a PUBACK; newer ones answer "packet too large").
    assert answer is None or getattr(answer, "is_failure", False), answer


@pytest.mark.timeout(180)
def test_a_flooding_station_does_not_starve_the_others(limited: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", ["qd-flood", "qd-quiet"])
    flood, quiet = Station("qd-flood"), Station("qd-quiet")
    quiet_messages = [quiet.door("open" if i % 2 else "closed") for i in range(200)]
    with ingester(limited.port, str(engine.url), "ing-flood", tmp_path / "ing.log"):
        flooder = Client(limited.port, "eldercare-qd-flood")
        calm = Client(limited.port, "eldercare-qd-quiet")
        stop = threading.Event()
        sent = [0]

        def blast() -> None:  # new events as fast as the broker acknowledges them, until told to stop
            while not stop.is_set():
                if sent[0] - len(flooder.acks) > 2000:
                    time.sleep(0.001)
                    continue
                flooder.client.publish(*flood.flow(1), qos=1)
                sent[0] += 1

        thread = threading.Thread(target=blast, daemon=True)
        thread.start()
        poll(lambda: _stored(engine, "qd-flood") > 1000, timeout=60, what="the flood reaching the store")
        for topic, payload in quiet_messages:
            calm.client.publish(topic, payload, qos=1).wait_for_publish(10)
            time.sleep(0.01)
        poll(lambda: _stored(engine, "qd-quiet") == len(quiet_messages), timeout=60,
             what="every event of the quiet station")
        flooding, flood_sent, flood_stored = thread.is_alive(), sent[0], _stored(engine, "qd-flood")
        stop.set()
        thread.join(30)
        flooder.close()
        calm.close()
    # The quiet station's events were all stored while the flood was still going, and being stored too.
    assert flooding and 1000 < flood_stored < flood_sent
    print(f"flood: {flood_sent} sent, {flood_stored} stored when the quiet station's 200 were all stored")


def _stored(engine: Engine, station: str) -> int:
    with engine.connect() as c:
        return len(c.execute(select(Event.id).where(Event.station_id == station)).all())
