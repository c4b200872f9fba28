"""A bare MQTT 3.1.1 client for probing a broker as an attacker or a station would (both brokers speak 3.1.1)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.wait import poll


class Probe:
    """Connects, records the CONNACK and every message received; publishes at QoS 1."""

    def __init__(self, port: int, user: str | None = None, password: str | None = None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.connack: ReasonCode | None = None
        self.disconnected = threading.Event()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        if user is not None:
            self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_a: self.disconnected.set()
        self.client.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        # A refused client may see the link closed rather than a CONNACK it can read.
        poll(lambda: self._connected.is_set() or self.disconnected.is_set(), 10, "a CONNACK", interval=0.02)

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        self.connack = reason
        self._connected.set()

    @property
    def accepted(self) -> bool:
        return self.connack is not None and not self.connack.is_failure and not self.disconnected.is_set()

    def subscribe(self, topic: str) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self._subscribed.wait(10), f"no SUBACK for {topic}"

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish and wait until the broker has dealt with it: acknowledged, or the link closed over it."""
        assert not self.disconnected.is_set(), "publishing on a closed link"
        info = self.client.publish(topic, payload, qos=1)
        poll(lambda: self.disconnected.is_set() or info.is_published(), 10, f"an answer to the publish to {topic}",
             interval=0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def probe(port: int, user: str | None = None, password: str | None = None) -> Iterator[Probe]:
    client = Probe(port, user, password)
    try:
        yield client
    finally:
        client.close()
