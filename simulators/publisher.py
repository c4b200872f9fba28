"""Publish simulated events to a broker on an accelerated clock: one MQTT client per station, as real agents do."""

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from simulators.day_events import SimEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerTarget:
    host: str
    port: int
    credentials: Path | None = None  # a directory of `<station>.password` files (from `cloud provision station`)
    ca_file: Path | None = None


class CredentialsError(Exception):
    """A station's password file cannot be read: the operator's to fix, not the broker's (told apart from a
    connection error)."""


def station_password(credentials: Path, station: str) -> str:
    path = credentials / f"{station}.password"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CredentialsError(f"cannot read station {station}'s broker password {path}: {exc.strerror or exc} "
                               f"(this process runs as uid {os.getuid()}; `eldercare cloud provision` writes the "
                               "stations' password files readable by their owner only)") from None


def real_now() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """Simulated time that runs `speed` times faster than real time from `start`, never ahead of `limit` (the real
    clock, or the clock a demo runs on as if another day were today)."""

    def __init__(self, start: datetime, speed: float, limit: Callable[[], datetime] = real_now) -> None:
        self.start, self.speed, self.limit, self._real0 = start, speed, limit, time.monotonic()

    def now(self) -> datetime:
        """Simulated now; speed <= 0 means as fast as possible (the limit is the only limit)."""
        limit = self.limit()
        if self.speed <= 0:
            return limit
        elapsed = timedelta(seconds=(time.monotonic() - self._real0) * self.speed)
        return min(self.start + elapsed, limit)


class FleetPublisher:
    """Holds a connected client per station and publishes events at QoS 1 in the order given."""

    def __init__(self, target: BrokerTarget, stations: Iterable[str]) -> None:
        self.target = target
        self.clients: dict[str, mqtt.Client] = {}
        self.published = 0
        self._lock = threading.Lock()
        for station in stations:
            self.clients[station] = self._connect(station)

    def _connect(self, station: str) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{station}", protocol=mqtt.MQTTv311)
        client.max_inflight_messages_set(200)
        if self.target.credentials is not None:
            client.username_pw_set(station, station_password(self.target.credentials, station))
        if self.target.ca_file is not None:
            client.tls_set(ca_certs=str(self.target.ca_file))
        client.reconnect_delay_set(1, 30)
        client.connect(self.target.host, self.target.port, keepalive=60)
        client.loop_start()
        return client

    def publish(self, event: SimEvent, station: str) -> mqtt.MQTTMessageInfo:
        retain = event.topic.endswith(("/health", "/agent/status"))
        info = self.clients[station].publish(event.topic, event.payload, qos=1, retain=retain)
        with self._lock:
            self.published += 1
        return info

    def listen(self, station: str, topic_filter: str, handler: Callable[[str, str, bytes], None]) -> None:
        """Subscribe `station`'s client to `topic_filter`, again after each reconnect (the broker keeps no session
        for it), and hand each message to `handler(station, topic, payload)` on the client's network thread.

        A handler that raises would end that thread and silence the station: it is logged instead."""
        client = self.clients[station]

        def on_connect(c: mqtt.Client, _userdata: object, _flags: object, _reason: object, _props: object) -> None:
            c.subscribe(topic_filter, qos=1)

        def on_message(_c: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
            try:
                handler(station, message.topic, message.payload)
            except Exception:  # a bug in the handler: say so, and keep the station's client alive
                log.exception("%s: handling %s failed", station, message.topic)

        client.on_connect = on_connect
        client.on_message = on_message
        if client.is_connected():
            client.subscribe(topic_filter, qos=1)

    def close(self) -> None:
        for client in self.clients.values():
            client.loop_stop()
            client.disconnect()


def station_of(topic: str) -> str:
    return topic.split("/", 3)[2]


def replay(events: Iterable[SimEvent], publisher: FleetPublisher, clock: SimClock, stop: threading.Event,
           progress: Callable[[SimEvent, int], None] | None = None,
           caught_up: threading.Event | None = None, on_live: Callable[[], None] | None = None) -> int:
    """Publish each event once the simulated clock has reached its time; returns how many were published.

    `caught_up` is set, and `on_live` called, once: when the history is out and the next event lies beyond the
    clock's limit (live from then on), or when the events end.
    """
    count = 0
    pending: list[mqtt.MQTTMessageInfo] = []
    live = False

    def go_live() -> None:
        nonlocal live
        live = True
        if caught_up is not None:
            caught_up.set()
        if on_live is not None:
            on_live()

    for event in events:
        if not live and event.at > clock.limit():
            for info in pending:
                info.wait_for_publish(timeout=30)
            pending.clear()
            go_live()
        while event.at > clock.now():
            if stop.wait(0.05):
                return count
        pending.append(publisher.publish(event, station_of(event.topic)))
        count += 1
        if len(pending) >= 500:  # keep the client queues bounded: wait for the broker's PUBACKs
            for info in pending:
                info.wait_for_publish(timeout=30)
            pending.clear()
        if progress is not None:
            progress(event, count)
        if stop.is_set():
            break
    for info in pending:
        info.wait_for_publish(timeout=30)
    if not live:
        go_live()
    return count
