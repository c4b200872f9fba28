"""Edge fixtures: an MQTT subscriber on the test's Mosquitto, station configs, and an agent in a thread."""

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.agent import Agent
from firmware_config.station import StationConfig
from station_protocol import Decoded, decode
from tests.localservices import Mosquitto
from tests.wait import poll


@dataclass
class Received:
    topic: str
    payload: bytes
    at: float
    retain: bool

    def decoded(self) -> Decoded:
        return decode(self.topic, self.payload)


@dataclass
class Subscriber:
    """Everything published under eldercare/v1/ on the broker, decoded with the protocol package on demand."""

    client: Any
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0) -> list[Received]:
        def matched() -> list[Received] | None:
            with self.lock:
                snapshot = list(self.messages)
            return snapshot if predicate(snapshot) else None

        def shown() -> str:
            with self.lock:
                return f"last messages: {[(m.topic, m.payload[:120]) for m in self.messages[-10:]]}"

        return poll(matched, timeout, shown, interval=0.02)

    def of_kind(self, kind: str, device: str | None = None) -> list[Any]:
        """Decoded messages of one type (typed loosely: tests read the fields of the type they asked for)."""
        with self.lock:
            snapshot = list(self.messages)
        out: list[Decoded] = []
        for m in snapshot:
            if m.topic.endswith(f"/{kind}") and (device is None or f"/{device}/" in m.topic):
                out.append(m.decoded())
        return out

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)


def subscribe(broker: Mosquitto, topic: str = "eldercare/v1/#", *, client_id: str = "",
              session_expiry: int | None = None) -> Subscriber:
    """A subscriber to `topic`; with `client_id` and `session_expiry` a persistent session, so that what is published
    while it reconnects is queued for it."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    sub = Subscriber(client)
    ready = threading.Event()

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        with sub.lock:
            sub.messages.append(Received(msg.topic, bytes(msg.payload), time.monotonic(), bool(msg.retain)))

    client.on_message = on_message
    client.on_subscribe = lambda *_a: ready.set()
    if session_expiry is None:
        client.connect("127.0.0.1", broker.port)
    else:
        client.reconnect_delay_set(1, 1)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = session_expiry
        client.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
    client.subscribe(topic, qos=1)
    client.loop_start()
    assert ready.wait(5), "subscription not acknowledged"
    return sub


@pytest.fixture
def subscriber(mosquitto: Mosquitto) -> Iterator[Subscriber]:
    sub = subscribe(mosquitto)
    yield sub
    sub.client.loop_stop()
    sub.client.disconnect()


def station_config(
    port: int, tmp_path: Path, devices: list[dict[str, Any]], station: str = "qd-test-01"
) -> StationConfig:
    return StationConfig.model_validate({
        "station": station, "name": "测试站", "grade": "3A", "town": "汇龙镇", "address": "某路1号",
        "mqtt": {"host": "127.0.0.1", "port": port, "tls": False, "password_env": None},
        "agent": {"outbox": str(tmp_path / "outbox.sqlite3"), "clock_check": "year", "heartbeat_s": 60},
        "devices": devices,
    })


class AgentThread:
    """Runs an Agent on its own event loop in a thread; stop() cancels it and waits."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.error: BaseException | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.task = self.loop.create_task(self.agent.run())
        try:
            self.loop.run_until_complete(self.task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:
            self.error = exc
        finally:
            self.loop.close()

    def __enter__(self) -> "AgentThread":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.thread.is_alive() and self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)
        assert not self.thread.is_alive(), "agent did not stop"
        if self.error is not None:
            raise self.error


@pytest.fixture
def mock_pins() -> Iterator[Any]:
    """gpiozero's mock pin factory (the real driver code runs on it unchanged)."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    previous = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    yield factory
    factory.reset()
    Device.pin_factory = previous
