"""The ingester: paho-mqtt receives on a shared subscription; each message is converted as it arrives and committed
in batches, and only then acknowledged.

Flow, all on paho's network thread: receive → convert → append to the pending batch → when it is full, or at once for
an emergency call: commit (events, devices, dirty days, alerts, dead letters) → PUBACK each message in arrival order →
hand the stored messages to the telemetry sink. A small timer thread commits a batch that waited batch_ms (a quiet
stream). A crash before the commit leaves the messages unacked in the broker's persistent session, so they are
redelivered; the event id makes the redelivery harmless. A station lookup that fails (the registry's database is
away) is never the message's fault: the message waits in the batch, which is retried unacknowledged like a failed
commit, and never becomes a dead letter. No hand-off between threads per message: that, not the work,
was what bounded the rate (docs/cloud-ingest.md, benchmark).
"""

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine

from cloud.convert import Accepted, Deferred, LookupFailed, Outcome, Rejected, StationInfo, convert, sent_at
from cloud.ingest.clients import UNKNOWN, History, forget, history, note_alive, note_connected, note_stopped
from cloud.ingest.letters import Letter
from cloud.ingest.losses import HISTORY_UNKNOWN, LOST_WHILE_AWAY, LOST_WHILE_RUNNING, Loss
from cloud.ingest.losses import record as record_loss
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.transport import IngestClient, message_topic
from cloud.ingest.writer import BatchResult, StoreUnavailable, write_batch
from cloud.telemetry.points import to_point
from cloud.telemetry.sink import InfluxSink
from station_protocol import Kind
from station_protocol.topics import ROOT

log = logging.getLogger("eldercare.ingest")

# How long the broker keeps an ingester's session while it is away. Mosquitto deals a shared subscription's messages
# to a member's persistent session whether it is connected or not, and drops them with the session when it expires
# (they are never dealt again to another member), while the stations have long been acknowledged. Three days outlast
# a host that died on a Friday evening and is seen to on Monday; the broker holds the absent member's share in memory
# meanwhile (about 530 B a message in Mosquitto 2.0: ~1 GB a day for 1,000 stations shared by two ingesters).
DEFAULT_SESSION_EXPIRY_S = 3 * 86400
MAX_SESSION_EXPIRY_S = 30 * 86400  # a long holiday, for a broker with the memory for it
LOSS_RETRY_S = 5.0  # how often a lost-messages window the store refused is offered to it again
# How often a connected ingester records that it is working (`ingest_clients.last_alive_at`): after a crash, a lost
# session's window starts this long before the last record, not at the connection weeks before.
ALIVE_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """How to reach the broker and how to batch."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "eldercare-ingest"
    group: str = "ingest"
    mqtt_version: int = 5  # 5: shared subscription; 4 (3.1.1): plain subscription, one ingester only
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    batch_size: int = 500
    batch_ms: int = 200
    session_expiry_s: int = DEFAULT_SESSION_EXPIRY_S
    keepalive_s: int = 30
    # False for a broker that keeps no session across its restarts and is started together with this ingester
    # (`eldercare serve`'s embedded broker): nothing can be dealt to the ingester while it is away, so a first
    # connection without a session loses nothing.
    broker_keeps_sessions: bool = True

    @property
    def topic_filter(self) -> str:
        base = f"{ROOT}/#"
        return f"$share/{self.group}/{base}" if self.mqtt_version == 5 else base


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs a microsecond per message
class Inbound:
    """A received and converted message waiting for its commit; `generation` is the connection it came on (acks are
    per link)."""

    topic: str
    payload: bytes
    received_at: datetime
    mid: int
    qos: int
    generation: int
    outcome: Outcome


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
        self.totals = {"received": 0, "stored": 0, "duplicates": 0, "dead_letters": 0, "alerts": 0, "ignored": 0,
                       "dropped_fields": 0, "row_by_row": 0}
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
        self._history: History = UNKNOWN  # this client id's earlier connections, read by start()
        self._connected_at: datetime | None = None  # this process's last successful connection
        self._link_lost_at: datetime | None = None  # when the link last dropped while running
        self._link_up = False  # connected now (set on paho's thread, read by the timer)
        self._alive_due = 0.0  # monotonic time of the next `last_alive_at` record
        # Windows of lost messages not yet in the store: found on paho's thread, written by start() and the timer.
        self._losses: list[Loss] = []
        self._losses_lock = threading.Lock()
        self._losses_retry_at = 0.0
        self._left = threading.Event()
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
                                     "session_present": resumed, "session_expiry_s": self._session_expiry()})
        now = self.clock()
        if not resumed and self._report_no_session():
            self.metrics.session_lost.inc()
            with self._losses_lock:
                self._losses.append(self._loss_window(now))
        self._connected_at = now
        self._link_up = True
        self._connected.set()

    def _loss_window(self, now: datetime) -> Loss:
        """The window the messages dealt to the lost session lie in, as far as this ingester knows. It starts when
        the link dropped (while running), when it last stopped gracefully, or after a crash `ALIVE_EVERY_S` before
        it was last seen working (its last connection, if the store kept nothing later). It ends now, or the session
        expiry after its start if that is sooner: once the session expired the broker dealt it nothing more, so an
        ingester back after months does not take months of every station's spot checks off the sensors. With no
        history the store could tell, the session expiry before now: at least the most recent stretch."""
        c, h = self.config, self._history
        if self._generation > 1:
            since = min(self._link_lost_at or self._connected_at or now, now)
            return Loss(c.client_id, since, self._expired(since, c.session_expiry_s, now), LOST_WHILE_RUNNING)
        if h.last_connected_at is not None:
            stopped, alive = h.last_stopped_at, h.last_alive_at
            if stopped is not None and stopped >= h.last_connected_at:
                since = stopped
            elif alive is not None and alive >= h.last_connected_at:
                since = max(h.last_connected_at, alive - timedelta(seconds=ALIVE_EVERY_S))
            else:
                since = h.last_connected_at
            since = min(since, now)
            # The expiry the lost session was made with: its own connection's, else this one's.
            expiry = h.session_expiry_s if h.session_expiry_s is not None else c.session_expiry_s
            return Loss(c.client_id, since, self._expired(since, expiry, now), LOST_WHILE_AWAY)
        return Loss(c.client_id, now - timedelta(seconds=c.session_expiry_s), now, HISTORY_UNKNOWN)

    def _expired(self, since: datetime, expiry_s: int, now: datetime) -> datetime:
        """When a session left at `since` expired at the latest (MQTT 5: the expiry the client asked for), or now
        if sooner. On MQTT 3.1.1 only the broker's settings decide: now."""
        if self.config.mqtt_version != 5:
            return now
        return min(now, since + timedelta(seconds=expiry_s))

    def _note_alive(self) -> None:
        """About once every ALIVE_EVERY_S while connected, record in the store that this ingester is working."""
        if not self._link_up or time.monotonic() < self._alive_due:
            return
        if note_alive(self.engine, self.config.client_id, self.clock()):
            self._alive_due = time.monotonic() + ALIVE_EVERY_S
        else:
            self._alive_due = time.monotonic() + LOSS_RETRY_S

    def _record_losses(self) -> None:
        """Write the pending windows of lost messages (each with the dirty marks of the days it touches); those the
        store refuses wait LOSS_RETRY_S for the next try. Never on paho's thread: the store may be slow or away."""
        with self._losses_lock:
            if not self._losses or time.monotonic() < self._losses_retry_at:
                return
            waiting = list(self._losses)
        done = [loss for loss in waiting if record_loss(self.engine, loss, self.clock())]
        with self._losses_lock:
            self._losses = [loss for loss in self._losses if loss not in done]
            if len(done) < len(waiting):
                self._losses_retry_at = time.monotonic() + LOSS_RETRY_S

    def _session_expiry(self) -> int | None:
        """The session expiry this client asks for; None on MQTT 3.1.1, where only the broker's settings decide."""
        return self.config.session_expiry_s if self.config.mqtt_version == 5 else None

    def _report_no_session(self) -> bool:
        """Say loudly that the broker had no session for this client id: whatever it had dealt to it is gone.
        Returns whether anything may have been lost (not on the first start of a client id the store never saw)."""
        c = self.config
        if c.mqtt_version == 5:
            why = f"away longer than --session-expiry ({c.session_expiry_s} s)"
        else:
            why = "dropped by the broker (its persistent_client_expiration)"
        h = self._history
        fields = {"client_id": c.client_id, "session_expiry_s": self._session_expiry(),
                  "last_connected_at": h.last_connected_at, "last_stopped_at": h.last_stopped_at}
        if self._generation > 1:
            log.error(f"session lost: the broker no longer had the session of client id {c.client_id} while it was "
                      f"disconnected ({why}, or the broker restarted without its saved state); "
                      "the messages it dealt to it meanwhile are lost", extra=fields)
        elif h.first_start:
            log.info(f"first start of client id {c.client_id}: the broker has no session for it yet, and none was "
                     "lost (the store has no earlier connection of it)", extra=fields)
            return False
        elif not c.broker_keeps_sessions:
            log.info(f"no session on the broker for client id {c.client_id}, as expected: the broker keeps no "
                     "session across its restarts and starts with this ingester, so nothing was dealt to it while "
                     "it was away", extra=fields)
            return False
        elif (connected := h.last_connected_at) is not None:
            stopped = (f"stopped at {h.last_stopped_at:%Y-%m-%d %H:%M:%S} UTC"
                       if h.last_stopped_at and h.last_stopped_at >= connected else "did not stop gracefully")
            log.error(f"session lost: no session on the broker for client id {c.client_id}, which last connected at "
                      f"{connected:%Y-%m-%d %H:%M:%S} UTC and {stopped}: {why}, or the broker lost its "
                      "saved state; the messages it dealt to this client id meanwhile are lost", extra=fields)
        else:
            # The store could not say whether this client id ever connected: the operator can, from the deployment.
            log.warning(f"no session on the broker for client id {c.client_id}: its first start, or {why}; "
                        "in that case the messages the broker dealt to it meanwhile are lost", extra=fields)
        return True

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
        self._link_up = False
        if not self._stopping.is_set():
            self._link_lost_at = self.clock()
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

    def start(self, connect_timeout: float = 30.0) -> None:
        """Connect (waiting for the broker's answer) and start the batch timer."""
        c = self.config
        self._history = history(self.engine, c.client_id)
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
        note_connected(self.engine, c.client_id, self.clock(), self._session_expiry())
        self._alive_due = time.monotonic() + ALIVE_EVERY_S
        self._record_losses()
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
        self._losses_retry_at = 0.0
        self._record_losses()  # a last try for a window the store refused so far
        if end_session:
            forget(self.engine, self.config.client_id)
        else:
            note_stopped(self.engine, self.config.client_id, self.clock())
        if self.sink is not None:
            self.sink.close()

    # --- batching ------------------------------------------------------------------------------------------------
    def _timer_loop(self) -> None:
        """Commit a batch that waited batch_ms (the stream went quiet before it filled)."""
        period = self.config.batch_ms / 1000
        wait = period
        while not self._stopping.wait(wait):
            self._record_losses()
            self._note_alive()
            with self._lock:
                if not self._pending:
                    wait = period  # a batch starting now is due no sooner
                    continue
                wait = self._deadline - time.monotonic()
                if wait <= 0:
                    self._flush()
                    wait = period
            wait = max(wait, 0.001)

    def _flush(self) -> None:
        """Commit and ack the pending batch; the caller holds the lock."""
        batch, self._pending = self._pending, []
        if batch:
            self._committing = len(batch)
            try:
                self._commit_with_retry(batch)
            finally:
                self._committing = 0

    def _commit_with_retry(self, batch: list[Inbound]) -> None:
        delay = 0.5
        while True:
            try:
                self._commit(batch)
                return
            except StoreUnavailable as exc:
                self.metrics.store_errors.inc()
                log.warning("database unavailable; batch kept unacked, retrying",
                            extra={"reason": str(exc)[:300], "messages": len(batch), "retry_s": delay})
                if self._stopping.wait(delay) and self._stopping.is_set():
                    log.warning("stopping with an uncommitted batch; the broker redelivers it",
                                extra={"messages": len(batch)})
                    return
                delay = min(delay * 2, 10.0)

    def _commit(self, batch: list[Inbound]) -> None:
        started = time.perf_counter()
        for inbound in batch:
            if isinstance(inbound.outcome, Deferred):  # its station lookup failed on arrival: try it again now
                inbound.outcome = self._convert(inbound.topic, inbound.payload, inbound.received_at)
                if isinstance(inbound.outcome, Deferred):
                    # As for a failed commit: nothing of the batch is written or acknowledged; the caller retries.
                    raise StoreUnavailable(inbound.outcome.reason)
        accepted: list[tuple[Accepted, str, bytes]] = []
        letters: list[Letter] = []
        ignored = 0
        for inbound in batch:
            outcome = inbound.outcome
            if isinstance(outcome, Accepted):
                accepted.append((outcome, inbound.topic, inbound.payload))
            elif isinstance(outcome, Rejected):
                letters.append(Letter(inbound.topic, inbound.payload, inbound.received_at, outcome))
            else:
                ignored += 1
        result = write_batch(self.engine, accepted, letters, self.clock(), self.config.client_id)
        self._ack(batch)
        self._account(batch, result, ignored, started)
        if self.sink is not None and result.accepted:
            # Duplicates too: a point rewritten with the same series and time is the same point.
            self.sink.write(p for p in map(to_point, result.accepted) if p is not None)
        if result.fell_back:
            self.metrics.row_by_row.inc()
            self.totals["row_by_row"] += 1
            log.warning("batch partly refused by the store; went row by row",
                        extra={"messages": len(batch), "refused": sum(lt.rejected.category == "store_refused"
                                                                       for lt in result.letters)})

    def _convert(self, topic: str, payload: bytes, received_at: datetime) -> Outcome:
        try:
            return convert(topic, payload, received_at, self.stations)
        except LookupFailed as exc:  # our trouble, not the message's: never a dead letter
            self.metrics.lookup_errors.inc()
            return Deferred(str(exc))
        except Exception as exc:  # never crash on input: whatever slipped through is a dead letter with its reason
            log.exception("unexpected error converting a message", extra={"topic": topic})
            return Rejected("invalid", f"could not be processed: {type(exc).__name__}: {exc}")

    def _ack(self, batch: list[Inbound]) -> None:
        # In arrival order (MQTT requires PUBACKs in order); a message from an earlier connection is not ours to ack:
        # the broker redelivers it on the new link, where the duplicate is skipped by its event id.
        generation = self._generation
        self._client.ack_many(inbound.mid for inbound in batch if inbound.qos == 1 and inbound.generation == generation)
        for inbound in batch:
            if inbound.qos == 2 and inbound.generation == generation:  # we subscribe at QoS 1; should one come anyway
                self._client.ack(inbound.mid, inbound.qos)

    def _account(self, batch: list[Inbound], result: BatchResult, ignored: int, started: float) -> None:
        m = self.metrics
        now = self.clock()
        stored, duplicates, letters, alerts = result.stored, result.duplicates, result.letters, result.alerts
        m.received.inc(len(batch))
        m.stored.inc(stored)
        m.duplicates.inc(duplicates)
        m.ignored.inc(ignored)
        m.alerts.inc(alerts)
        kinds = Counter(item.row["kind"] for item in result.accepted)
        for kind, n in kinds.items():
            m.accepted.labels(kind).inc(n)
        dropped = Counter[str]()
        for item in result.accepted:
            if item.dropped:
                dropped[item.row["kind"]] += item.dropped
        for kind, n in dropped.items():
            m.dropped_fields.labels(kind).inc(n)
            self.totals["dropped_fields"] += n
        observe, faults = m.lag.observe, 0
        for item in result.accepted:
            decoded = item.decoded
            if decoded.clock_fault is not None:
                faults += 1
            else:
                observe(max(0.0, (now - (sent_at(decoded.message) or item.row["ts"])).total_seconds()))
        m.clock_faults.inc(faults)
        for letter in letters:
            m.invalid.labels(letter.rejected.category).inc()
            log.info("dead letter", extra={"topic": letter.topic, "category": letter.rejected.category,
                                           "reason": letter.rejected.reason[:300]})
        m.batch_seconds.observe(time.perf_counter() - started)
        m.last_commit.set(time.time())
        m.batch_size.observe(len(batch))
        t = self.totals
        t["received"] += len(batch)
        t["stored"] += stored
        t["duplicates"] += duplicates
        t["dead_letters"] += len(letters)
        t["alerts"] += alerts
        t["ignored"] += ignored
