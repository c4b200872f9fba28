"""Commit one batch of received messages: write it to the store (retried while the store is away), acknowledge it to
the broker, count it in the metrics and hand the stored messages to the telemetry sink.

A station lookup that failed on arrival (the registry's database is away) is never the message's fault: it is tried
again here, and while it still fails the batch is retried unacknowledged like a failed commit, never dead-lettered.
"""

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from cloud.convert import Accepted, Deferred, LookupFailed, Outcome, Rejected, StationInfo, convert, sent_at
from cloud.ingest.letters import Letter
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.writer import BatchResult, StoreUnavailable, write_batch
from cloud.telemetry.points import to_point
from cloud.telemetry.sink import InfluxSink

log = logging.getLogger("eldercare.ingest")


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


class Committer:
    """Converts messages as they arrive and commits batches of them; `totals` counts what it committed, by fate."""

    def __init__(self, engine: Engine, stations: Callable[[str], StationInfo | None], metrics: IngestMetrics,
                 sink: InfluxSink | None, clock: Callable[[], datetime], client_id: str,
                 ack: Callable[[list[Inbound]], None], stopping: threading.Event) -> None:
        self.engine = engine
        self.stations = stations
        self.metrics = metrics
        self.sink = sink
        self.clock = clock
        self.client_id = client_id  # stored with each event: which of the broker's queues delivered it
        self._ack = ack  # PUBACK a committed batch, in arrival order
        self._stopping = stopping  # set when the ingester stops: a batch the store refuses is left to redelivery
        self.totals = {"received": 0, "stored": 0, "duplicates": 0, "dead_letters": 0, "alerts": 0, "ignored": 0,
                       "dropped_fields": 0, "row_by_row": 0}

    def convert(self, topic: str, payload: bytes, received_at: datetime) -> Outcome:
        try:
            return convert(topic, payload, received_at, self.stations)
        except LookupFailed as exc:  # our trouble, not the message's: never a dead letter
            self.metrics.lookup_errors.inc()
            return Deferred(str(exc))
        except Exception as exc:  # never crash on input: whatever slipped through is a dead letter with its reason
            log.exception("unexpected error converting a message", extra={"topic": topic})
            return Rejected("invalid", f"could not be processed: {type(exc).__name__}: {exc}")

    def commit_with_retry(self, batch: list[Inbound]) -> None:
        """Commit the batch, retrying with a growing delay while the store is away; give up, unacknowledged (the
        broker redelivers it), only when the ingester stops."""
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
                inbound.outcome = self.convert(inbound.topic, inbound.payload, inbound.received_at)
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
        result = write_batch(self.engine, accepted, letters, self.clock(), self.client_id)
        self._ack(batch)
        self._account(batch, result, ignored, started)
        if self.sink is not None and result.new:
            # New events only: a duplicate edited by someone (another count at the same time) would overwrite the
            # stored event's point with values the store never took.
            self.sink.write(p for p in map(to_point, result.new) if p is not None)
        if result.fell_back:
            self.metrics.row_by_row.inc()
            self.totals["row_by_row"] += 1
            log.warning("batch partly refused by the store; went row by row",
                        extra={"messages": len(batch), "refused": sum(lt.rejected.category == "store_refused"
                                                                       for lt in result.letters)})

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
