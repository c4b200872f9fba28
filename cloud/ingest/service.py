"""The ingester: paho-mqtt receives on a shared subscription; each message is converted as it arrives and committed
in batches, and only then acknowledged.

Flow, all on paho's network thread: receive → convert → append to the pending batch → when it is full, or at once for
an emergency call: commit (events, devices, dirty days, alerts, dead letters) → PUBACK each message in arrival order →
hand the stored messages to the telemetry sink (`commit.py`). A small timer thread commits a batch that waited
batch_ms (a quiet stream). A crash before the commit leaves the messages unacked in the broker's persistent session, so
they are redelivered; the event id makes the redelivery harmless. A station lookup that fails (the registry's database
is away) is never the message's fault: the message waits in the batch, which is retried unacknowledged like a failed
commit, and never becomes a dead letter. No hand-off between threads per message: that, not the work, was what bounded
the rate (docs/cloud-ingest.md, benchmark). What the broker kept of this client id's session, and what was lost when it
kept nothing, is `session.py`'s.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine

from cloud.convert import Accepted, StationInfo
from cloud.ingest.commit import Committer, Inbound
from cloud.ingest.config import IngestConfig
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.session import SessionWatch
from cloud.ingest.transport import IngestClient, message_topic
from cloud.telemetry.sink import InfluxSink
from station_protocol import Kind

log = logging.getLogger("eldercare.ingest")


class ConnectRefused(RuntimeError):
    """The broker refused the connection (bad credentials, not authorised)."""


class Ingester:
    """One ingester process's worth of work; start(), then stop() to flush, ack and disconnect."""

    def __init__(self, config: IngestConfig, engine: Engine, stations: Callable[[str], StationInfo | None],
                 metrics: IngestMetrics, sink: InfluxSink | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.config = config
        self.engine = engine
        self.stations = stations
        self.metrics = metrics
        self.sink = sink
        self.clock = clock
        self._pending: list[Inbound] = []
        self._committing = 0  # messages of the batch being committed: received, not committed yet
        self._deadline = 0.0  # monotonic time by which the pending batch commits
        self._lock = threading.Lock()  # the pending batch: taken by the network thread, the timer and stop()
        self._generation = 0
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._refused: str | None = None
        self._subscribed = threading.Event()
        self._leaving = False  # set by leave(): unsubscribe instead of subscribing, also after a reconnect
        self._left = threading.Event()
        self._session = SessionWatch(config, engine, metrics, clock)
        self._committer = Committer(engine, stations, metrics, sink, clock, config.client_id, self._ack,
                                    self._stopping)
        self._convert = self._committer.convert
        self.totals = self._committer.totals
        self._timer = threading.Thread(target=self._timer_loop, name="ingest-batch-timer", daemon=True)
        # Read at scrape time: nothing to count per message. A batch taken off `_pending` is still uncommitted until
        # its transaction ends: a gauge of zero must mean that everything received is in the store.
        metrics.queue.set_function(lambda: len(self._pending) + self._committing)
        self._client = self._make_client()

    # --- MQTT -------------------------------------------------------------------------------------------------
    def _make_client(self) -> IngestClient:
        c = self.config
        if c.mqtt_version == 5:
            client = IngestClient(CallbackAPIVersion.VERSION2, client_id=c.client_id, protocol=mqtt.MQTTv5,
                                 manual_ack=True)
        else:
            client = IngestClient(CallbackAPIVersion.VERSION2, client_id=c.client_id, protocol=mqtt.MQTTv311,
                                 clean_session=False, manual_ack=True)
        if c.username:
            client.username_pw_set(c.username, c.password)
        if c.tls:
            client.tls_set(ca_certs=str(c.ca_file) if c.ca_file else None)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        return client

    def _on_connect(self, client: mqtt.Client, _userdata: Any, flags: mqtt.ConnectFlags, reason: ReasonCode,
                    _props: Properties | None) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            log.error("broker refused the connection", extra={"reason": str(reason)})
            self._connected.set()
            return
        self._generation += 1
        self._refused = None
        resumed = bool(flags.session_present)
        self.metrics.session_present.set(1 if resumed else 0)
        if self._leaving:
            client.unsubscribe(self.config.topic_filter)
        else:
            client.subscribe(self.config.topic_filter, qos=1)
        log.info("connected", extra={"broker": f"{self.config.host}:{self.config.port}",
                                     "subscription": self.config.topic_filter, "client_id": self.config.client_id,
                                     "session_present": resumed, "session_expiry_s": self._session.session_expiry()})
        self._session.connected(resumed, self._generation)
        self._connected.set()

    def _on_subscribe(self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: list[ReasonCode],
                      _props: Properties | None) -> None:
        if any(reason.is_failure for reason in reasons):
            self._refused = f"subscription to {self.config.topic_filter} refused: {reasons[0]}"
            log.error("broker refused the subscription", extra={"reason": str(reasons[0])})
        self._subscribed.set()

    def _on_unsubscribe(self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: list[ReasonCode],
                        _props: Properties | None) -> None:
        # "No subscription existed" (a session that had expired) is a success here: the broker deals us nothing.
        log.info("left the shared subscription", extra={"subscription": self.config.topic_filter,
                                                         "reason": str(reasons[0]) if reasons else None})
        self._left.set()

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: ReasonCode,
                       _props: Properties | None) -> None:
        if self._stopping.is_set():
            self._session.link_down(None)
        else:
            self._session.link_down(self.clock())
            log.warning("disconnected from the broker; reconnecting", extra={"reason": str(reason)})

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if self._stopping.is_set():
            return  # left unacked: the broker keeps it in our session and redelivers it after the restart
        topic = message_topic(message)
        received_at = self.clock()
        payload = message.payload
        outcome = self._convert(topic, payload, received_at)
        with self._lock:
            pending = self._pending
            if not pending:
                self._deadline = time.monotonic() + self.config.batch_ms / 1000
            pending.append(Inbound(topic, payload, received_at, message.mid, message.qos, self._generation, outcome))
            # The emergency fast path: a call commits now, not at the batch timer.
            if len(pending) >= self.config.batch_size or (isinstance(outcome, Accepted)
                                                           and outcome.decoded.topic.kind is Kind.CALL):
                self._flush()

    def _ack(self, batch: list[Inbound]) -> None:
        # In arrival order (MQTT requires PUBACKs in order); a message from an earlier connection is not ours to ack:
        # the broker redelivers it on the new link, where the duplicate is skipped by its event id.
        generation = self._generation
        self._client.ack_many(inbound.mid for inbound in batch if inbound.qos == 1 and inbound.generation == generation)
        for inbound in batch:
            if inbound.qos == 2 and inbound.generation == generation:  # we subscribe at QoS 1; should one come anyway
                self._client.ack(inbound.mid, inbound.qos)

    def start(self, connect_timeout: float = 30.0) -> None:
        """Connect (waiting for the broker's answer) and start the batch timer."""
        c = self.config
        self._session.read_history()
        props = None
        if c.mqtt_version == 5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = c.session_expiry_s
            # Unacked messages the broker may have in flight to us: enough to keep two batches moving.
            props.ReceiveMaximum = min(65535, max(100, c.batch_size * 4))
            self._client.connect_async(c.host, c.port, c.keepalive_s, clean_start=False, properties=props)
        else:
            self._client.connect_async(c.host, c.port, c.keepalive_s)
        self._client.loop_start()
        # Ready only once subscribed: a message published before the SUBACK would find no subscriber.
        if not (self._connected.wait(connect_timeout) and (self._refused or self._subscribed.wait(connect_timeout))):
            self._client.loop_stop()
            raise ConnectRefused(f"no answer from the broker at {c.host}:{c.port} within {connect_timeout:.0f} s")
        if self._refused:
            self._client.loop_stop()
            raise ConnectRefused(f"the broker at {c.host}:{c.port} refused the connection: {self._refused}")
        self._session.started()
        self._timer.start()

    def leave(self, stop: threading.Event, quiet_s: float = 2.0) -> bool:
        """Retire this client id from the shared group without losing what the broker dealt to it: unsubscribe (from
        the UNSUBACK on, the broker deals this client id nothing more), go on taking what its session still holds
        until nothing has arrived for `quiet_s` and everything taken is committed, then return True; the caller's
        `stop(end_session=True)` then ends the session. False if `stop` was set first (the session is kept).

        Only while another member of the group runs: the last one to leave leaves the stations' messages with no
        subscriber. Unsubscribing on every stop would do that on each deploy, which is why `stop()` does not."""
        self._leaving = True
        self._client.unsubscribe(self.config.topic_filter)
        while not self._left.wait(0.1):
            if stop.is_set():
                return False
        last = (-1, -1)
        quiet_since = time.monotonic()
        while not stop.wait(0.1):
            now = (self.totals["received"], len(self._pending) + self._committing)
            if now != last:
                last, quiet_since = now, time.monotonic()
            elif now[1] == 0 and time.monotonic() - quiet_since >= quiet_s:
                return True
        return False

    def stop(self, drain_timeout: float = 30.0, end_session: bool = False) -> None:
        """Commit and ack what was received, then disconnect. Loses nothing.

        The subscription stays in the broker's persistent session: messages arriving from now on are queued for this
        client id (unsubscribing would make the broker drop them while no ingester runs), and any received but not
        yet committed are redelivered on the next start. `end_session` (after `leave()`) asks the broker to drop the
        session at once instead: nothing is left in it.
        """
        self._stopping.set()
        self._timer.join(drain_timeout)
        if self._lock.acquire(timeout=drain_timeout):
            try:
                self._flush()
            finally:
                self._lock.release()
        if end_session and self.config.mqtt_version == 5:
            props = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 0
            self._client.disconnect(properties=props)
        else:
            self._client.disconnect()
        self._client.loop_stop()
        self._session.stopped(end_session)
        if self.sink is not None:
            self.sink.close()

    # --- batching ------------------------------------------------------------------------------------------------
    def _timer_loop(self) -> None:
        """Commit a batch that waited batch_ms (the stream went quiet before it filled)."""
        period = self.config.batch_ms / 1000
        wait = period
        while not self._stopping.wait(wait):
            self._session.tick()
            with self._lock:
                if not self._pending:
                    wait = period  # a batch starting now is due no sooner
                    continue
                wait = self._deadline - time.monotonic()
                if wait <= 0:
                    try:
                        self._flush()
                    except Exception:  # an unforeseen fault must not end the thread that commits every batch
                        # The batch stays unacknowledged: the broker delivers it again when the session reconnects.
                        log.exception("a batch could not be committed; its messages are left unacknowledged")
                    wait = period
            wait = max(wait, 0.001)

    def _flush(self) -> None:
        """Commit and ack the pending batch; the caller holds the lock."""
        batch, self._pending = self._pending, []
        if batch:
            self._committing = len(batch)
            try:
                self._committer.commit_with_retry(batch)
            finally:
                self._committing = 0
