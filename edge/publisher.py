"""Drains the outbox to the broker at QoS 1: urgent first, a bounded window in flight, delete on PUBACK.

Each connection gets a fresh paho client whose network thread ends when the connection drops (no paho auto-reconnect,
no paho re-sends): on reconnect, whatever was not acknowledged is sent again from the outbox with the same event id.
Reconnects back off exponentially with full jitter, so a thousand stations do not return in the same second.
A SQLite error while reading a batch, or a damaged file while deleting acknowledged rows, ends `run` (the agent
stops on it: edge/agent.py); a delete refused for room is retried.
"""

import asyncio
import contextlib
import logging
import random
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from edge.outbox import Outbox
from edge.outbox_repair import is_damage
from edge.spill import MEMORY_BASE, Spill
from firmware_config.station import MqttConfig
from station_protocol.topics import Kind, agent_topic

log = logging.getLogger(__name__)

NO_MATCHING_SUBSCRIBERS = 0x10  # MQTT v5 PUBACK reason: accepted, but no subscriber got it
CommandSink = Callable[[str, bytes], None]


def backoff_delays(base: float = 1.0, cap: float = 120.0) -> "Any":
    """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**n)), never below a tenth of base."""
    attempt = 0
    while True:
        yield max(base / 10, random.uniform(0, min(cap, base * 2**attempt)))
        attempt += 1


def stamp_sent(payload: bytes, when: str) -> bytes:
    """Add `sent` to an encoded JSON object without re-encoding it."""
    return payload[:-1] + b',"sent":"' + when.encode() + b'"}' if payload.endswith(b"}") else payload


class Publisher:
    """One station's connection to the broker."""

    def __init__(
        self, station: str, config: MqttConfig, outbox: Outbox, *, window: int = 256,
        on_command: CommandSink | None = None, on_connect: Callable[[], Awaitable[None]] | None = None,
        backoff_base_s: float = 1.0, backoff_cap_s: float = 120.0,
        wait: Callable[[float], Awaitable[None]] = asyncio.sleep, spill: Spill | None = None,
    ) -> None:
        self.station = station
        self.config = config
        self.outbox = outbox
        self.spill = spill  # readings the outbox could not store (disk full), sent after its rows
        self.window = window
        self.on_command = on_command
        self.on_connect = on_connect
        self.backoff = (backoff_base_s, backoff_cap_s)
        self.wait = wait  # how the reconnect backoff waits: a test's clock records the delays instead
        self.wake = asyncio.Event()
        self.connected = False
        self.published = 0
        self.connacks = 0  # sessions the broker accepted
        self._client: Any = None
        self._inflight: dict[int, int] = {}  # mid -> outbox row id
        self._acked: list[int] = []
        self._cursor = 0  # highest row id sent on this connection, per priority (urgent rows overtake the rest)
        self._urgent_cursor = 0
        self.spill_cursor = 0  # highest memory entry sent on this connection (edge/keeper.py leaves those in memory)
        self._urgent_pending = False
        self._flush_failed = False
        # (connection number, mid, reason) appended by paho's thread, taken on the loop. Message ids restart with
        # every client, so a late PUBACK of an earlier connection must never match this one's in-flight rows.
        self._pubacks: deque[tuple[int, int, Any]] = deque()
        self._generation = 0
        self._ack_scheduled = False
        self._unheard = 0  # PUBACKs that said "no matching subscribers" on this connection
        self._flushed = 0.0

    def notify(self, urgent: bool = False) -> None:
        """A new event is in the outbox; an urgent one is sent even if only one in-flight slot is free."""
        self._urgent_pending = self._urgent_pending or urgent
        self.wake.set()

    def rewind(self) -> None:
        """Older rows became sendable (held events released): look at the whole outbox again."""
        self._cursor = self._urgent_cursor = self.spill_cursor = 0
        self.wake.set()

    def publish_direct(self, topic: str, payload: bytes, retain: bool = False) -> bool:
        """Send without the outbox (heartbeats, status) if connected; False if not (the caller may keep it)."""
        client = self._client
        if client is None or not self.connected:
            return False
        client.publish(topic, payload, qos=1, retain=retain)
        return True

    async def run(self) -> None:
        delays = backoff_delays(*self.backoff)
        while True:
            connacks = self.connacks
            try:
                await self._session()
            except (OSError, ConnectionError, RuntimeError) as exc:
                log.warning("mqtt %s:%s: %s", self.config.host, self.config.port, exc)
            if self.connacks > connacks:
                delays = backoff_delays(*self.backoff)  # a session that got CONNACK resets the backoff
            delay = next(delays)
            log.info("mqtt: reconnecting in %.1f s", delay)
            await self.wait(delay)

    async def _session(self) -> None:
        from edge.mqtt import new_client, status_payload

        loop = asyncio.get_running_loop()
        self._generation += 1
        generation = self._generation
        connack: asyncio.Future[Any] = loop.create_future()
        lost = asyncio.Event()
        now = datetime.now(UTC)
        client = new_client(self.station, self.config, status_payload(self.station, False, now))
        client.max_inflight_messages_set(self.window)
        client.max_queued_messages_set(0)

        def on_connect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
            def settle() -> None:
                if not connack.done():
                    connack.set_result(reason)

            loop.call_soon_threadsafe(settle)

        def on_disconnect(_c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
            def gone() -> None:
                lost.set()
                self.wake.set()
                if not connack.done():
                    connack.set_exception(ConnectionError(f"disconnected before CONNACK: {reason}"))

            loop.call_soon_threadsafe(gone)

        def on_publish(_c: Any, _u: Any, mid: int, reason: Any, _props: Any) -> None:
            # One loop wake-up per burst of PUBACKs, not one per message.
            self._pubacks.append((generation, mid, reason))
            if not self._ack_scheduled:
                self._ack_scheduled = True
                loop.call_soon_threadsafe(self._take_acks)

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            if self.on_command is not None:
                loop.call_soon_threadsafe(self.on_command, message.topic, bytes(message.payload))

        client.on_connect, client.on_disconnect = on_connect, on_disconnect
        client.on_publish, client.on_message = on_publish, on_message
        await asyncio.to_thread(client.connect, self.config.host, self.config.port, self.config.keepalive_s)
        client.loop_start()
        try:
            try:
                async with asyncio.timeout(30):
                    reason = await connack
            except TimeoutError:
                raise ConnectionError("no CONNACK from the broker") from None
            if reason.is_failure:
                raise ConnectionError(f"broker refused the connection: {reason}")
            log.info("mqtt: connected to %s:%s", self.config.host, self.config.port)
            self.connacks += 1
            self._client, self.connected = client, True
            client.subscribe(f"eldercare/v1/{self.station}/cmd/#", qos=1)
            client.publish(str(agent_topic(self.station, Kind.STATUS)),
                           status_payload(self.station, True, datetime.now(UTC)), qos=1, retain=True)
            if self.on_connect is not None:
                await self.on_connect()
            await self._drain(lost)
        except asyncio.CancelledError:
            if self.connected:  # a clean DISCONNECT suppresses the last will: say "offline" ourselves
                info = client.publish(str(agent_topic(self.station, Kind.STATUS)),
                                      status_payload(self.station, False, datetime.now(UTC)), qos=1, retain=True)
                with contextlib.suppress(Exception):
                    await asyncio.shield(asyncio.to_thread(info.wait_for_publish, 1.0))
            raise
        finally:
            self.connected, self._client = False, None
            self._inflight.clear()
            # What was not acknowledged is sent again on the next connection.
            self._cursor = self._urgent_cursor = self.spill_cursor = 0
            try:
                self._flush()  # raises if the outbox is damaged: the client is stopped all the same
            finally:
                client.disconnect()
                await asyncio.to_thread(client.loop_stop)

    def _take_acks(self) -> None:
        self._ack_scheduled = False
        while self._pubacks:
            generation, mid, reason = self._pubacks.popleft()
            row = self._inflight.pop(mid, None) if generation == self._generation else None
            if row is None:
                continue
            if getattr(reason, "is_failure", False):
                # A broker that refuses a message (e.g. ACL) would refuse it forever: keep it, say so, try later.
                log.error("broker refused outbox row %d: %s", row, reason)
                continue
            if getattr(reason, "value", 0) == NO_MATCHING_SUBSCRIBERS:
                # Accepted but heard by nobody (no ingester subscribed yet, e.g. just after a broker restart, which
                # does not restore shared subscriptions): keep it and send it again on a new connection.
                self._unheard += 1
                continue
            self._acked.append(row)
        self.wake.set()

    def _send(self, rows: "list[Any]") -> None:
        sent = datetime.now(UTC).isoformat(timespec="milliseconds")
        for row in rows:
            info = self._client.publish(row.topic, stamp_sent(row.payload, sent), qos=1, retain=row.retain)
            if info.rc != 0:
                raise ConnectionError(f"publish failed: {info.rc}")
            self._inflight[info.mid] = row.id
            if row.id >= MEMORY_BASE:
                self.spill_cursor = max(self.spill_cursor, row.id)
            elif row.urgent:
                self._urgent_cursor = max(self._urgent_cursor, row.id)
            else:
                self._cursor = max(self._cursor, row.id)
            self.published += 1

    def _flush(self) -> None:
        self._flushed = time.monotonic()
        if not self._acked:
            return
        if self.spill is not None:
            self.spill.done(i for i in self._acked if i >= MEMORY_BASE)
        rows = [i for i in self._acked if i < MEMORY_BASE]
        try:
            self.outbox.done(rows)
        except sqlite3.Error as exc:
            if is_damage(exc):
                raise  # a damaged file does not heal by retrying: the agent stops (edge/agent.py)
            # A full card can refuse even a delete (its journal needs room): keep the ids, try again at the next
            # flush; if the connection ends first, those rows are only sent again (same event ids).
            self._acked = rows
            if not self._flush_failed:
                log.error("outbox: could not delete %d acknowledged rows: %s; retrying", len(rows), exc)
            self._flush_failed = True
            return
        self._acked = []
        self._flush_failed = False

    async def _drain(self, lost: asyncio.Event) -> None:
        # Hand paho twice its in-flight window: when a PUBACK frees a slot, paho's own thread sends the next message
        # at once instead of waiting for this loop. An urgent event then waits behind at most one window.
        handoff = 2 * self.window
        refill = max(1, min(self.window // 4, 64))  # fetch in batches, not one row per freed slot
        while not lost.is_set():
            if self._unheard:
                self._unheard = 0
                raise ConnectionError("the broker has no subscriber for station data yet (PUBACK 0x10); kept in the "
                                      "outbox, sending again after a reconnect")
            # Acked rows are deleted in batches (one durable commit each); a crash before that only re-sends them.
            if len(self._acked) >= 512 or (self._acked and time.monotonic() - self._flushed > 0.05):
                self._flush()
            room = handoff - len(self._inflight)
            if room >= refill or (self._urgent_pending and room > 0):
                self._urgent_pending = False
                rows = self.outbox.batch(room, self._cursor, self._urgent_cursor)
                if len(rows) < room and self.spill is not None and len(self.spill):
                    rows += self.spill.batch(room - len(rows), self.spill_cursor)
                if rows:
                    self._send(rows)
                    await asyncio.sleep(0)
                    continue
                self._flush()  # nothing left to send: make the deletes durable now
            self.wake.clear()
            # Woken by a new event, an ack or the connection's loss. asyncio.timeout, not wait_for: on Python 3.11
            # wait_for can swallow a cancellation that races with the wake-up, and the agent would not stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05 if self._acked else 1.0):
                    await self.wake.wait()
        raise ConnectionError("connection lost")
