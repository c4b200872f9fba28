"""What an ingester knows of its broker session across connections and restarts: whether the broker lost it, the
window of messages lost with it (recorded in the store, offered again while the store refuses it), and the store's
record of this client id (connected, last seen working, stopped or gone).

`connected` and `link_down` run on paho's network thread and never touch the store; everything that writes runs on
the caller's thread (`started`, `stopped`) or the ingester's batch timer (`tick`).
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from cloud.ingest.clients import UNKNOWN, History, forget, history, note_alive, note_connected, note_stopped
from cloud.ingest.config import IngestConfig
from cloud.ingest.losses import HISTORY_UNKNOWN, LOST_WHILE_AWAY, LOST_WHILE_RUNNING, Loss
from cloud.ingest.losses import record as record_loss
from cloud.ingest.metrics import IngestMetrics

log = logging.getLogger("eldercare.ingest")

LOSS_RETRY_S = 5.0  # how often a lost-messages window the store refused is offered to it again
# How often a connected ingester records that it is working (`ingest_clients.last_alive_at`): after a crash, a lost
# session's window starts this long before the last record, not at the connection weeks before.
ALIVE_EVERY_S = 60.0


class SessionWatch:
    """One ingester's session bookkeeping: read_history() before connecting, connected() / link_down() from paho's
    callbacks, started() once subscribed, tick() from the batch timer, stopped() after disconnecting."""

    def __init__(self, config: IngestConfig, engine: Engine, metrics: IngestMetrics,
                 clock: Callable[[], datetime]) -> None:
        self.config = config
        self.engine = engine
        self.metrics = metrics
        self.clock = clock
        self._generation = 0  # the ingester's connection count when it last connected (1: its first connection)
        self._history: History = UNKNOWN  # this client id's earlier connections, read by read_history()
        self._connected_at: datetime | None = None  # this process's last successful connection
        self._link_lost_at: datetime | None = None  # when the link last dropped while running
        self._link_up = False  # connected now (set on paho's thread, read by the timer)
        self._alive_due = 0.0  # monotonic time of the next `last_alive_at` record
        # Windows of lost messages not yet in the store: found on paho's thread, written by started() and tick().
        self._losses: list[Loss] = []
        self._losses_lock = threading.Lock()
        self._losses_retry_at = 0.0

    def read_history(self) -> None:
        """Read what the store remembers of this client id, before the first connection."""
        self._history = history(self.engine, self.config.client_id)

    def connected(self, resumed: bool, generation: int) -> None:
        """The broker accepted connection number `generation`, with this client id's session or (`resumed` False)
        without it: report a lost session, count it and keep its window for the store."""
        self._generation = generation
        now = self.clock()
        if not resumed and self._report_no_session():
            self.metrics.session_lost.inc()
            with self._losses_lock:
                self._losses.append(self._loss_window(now))
        self._connected_at = now
        self._link_up = True

    def link_down(self, lost_at: datetime | None) -> None:
        """The link dropped: at `lost_at` while running, None when the ingester is stopping."""
        self._link_up = False
        if lost_at is not None:
            self._link_lost_at = lost_at

    def started(self) -> None:
        """Connected and subscribed: record the connection and write any loss found on connecting."""
        note_connected(self.engine, self.config.client_id, self.clock(), self.session_expiry())
        self._alive_due = time.monotonic() + ALIVE_EVERY_S
        self._record_losses()

    def tick(self) -> None:
        """From the batch timer: offer pending losses to the store again, and record now and then that this ingester
        is working."""
        self._record_losses()
        self._note_alive()

    def stopped(self, end_session: bool) -> None:
        """Disconnected: a last try for a loss the store refused so far, then record the stop, or forget this client
        id if its session was ended (`leave()`)."""
        self._losses_retry_at = 0.0
        self._record_losses()
        if end_session:
            forget(self.engine, self.config.client_id)
        else:
            note_stopped(self.engine, self.config.client_id, self.clock())

    def session_expiry(self) -> int | None:
        """The session expiry this client asks for; None on MQTT 3.1.1, where only the broker's settings decide."""
        return self.config.session_expiry_s if self.config.mqtt_version == 5 else None

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

    def _report_no_session(self) -> bool:
        """Say loudly that the broker had no session for this client id: whatever it had dealt to it is gone.
        Returns whether anything may have been lost (not on the first start of a client id the store never saw)."""
        c = self.config
        if c.mqtt_version == 5:
            why = f"away longer than --session-expiry ({c.session_expiry_s} s)"
        else:
            why = "dropped by the broker (its persistent_client_expiration)"
        h = self._history
        fields = {"client_id": c.client_id, "session_expiry_s": self.session_expiry(),
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
