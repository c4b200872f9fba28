"""Fixtures: the derive tests' migrated store (SQLite and PostgreSQL) and a subscriber on a real Mosquitto."""

import threading
from collections.abc import Iterator

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.derive.conftest import store
from tests.localservices import Mosquitto
from tests.wait import poll

__all__ = ["store"]


class Commands:
    """Everything published under the stations' `cmd/` topics."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def wait(self, count: int, timeout: float = 10.0) -> list[tuple[str, bytes]]:
        def enough() -> list[tuple[str, bytes]] | None:
            with self.lock:
                return list(self.received) if len(self.received) >= count else None

        return poll(enough, timeout, lambda: f"expected {count} command(s), got {self.received}", interval=0.02)


@pytest.fixture
def commands(mosquitto: Mosquitto) -> Iterator[Commands]:
    seen = Commands()
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    ready = threading.Event()

    def on_message(_c: object, _u: object, msg: paho.MQTTMessage) -> None:
        with seen.lock:
            seen.received.append((msg.topic, bytes(msg.payload)))

    client.on_message = on_message
    client.on_subscribe = lambda *_a: ready.set()
    client.connect("127.0.0.1", mosquitto.port)
    client.subscribe("eldercare/v1/+/cmd/#", qos=1)
    client.loop_start()
    assert ready.wait(5), "subscription not acknowledged"
    yield seen
    client.loop_stop()
    client.disconnect()
