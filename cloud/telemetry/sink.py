"""The InfluxDB sink: a bounded buffer and a writer thread of its own, so a slow or dead InfluxDB never blocks ingest.

Points are handed over without waiting. The writer thread sends them in batches through influxdb-client's
synchronous write API, retries a failed batch with exponential back-off, and counts every point exactly once: written,
or dropped (the buffer was full, the batch failed after every retry or was refused, or it was still unsent when the
sink closed). The back-off waits on the close signal and the thread is a daemon, so closing takes at most
`close_wait_s` plus one request's timeout, however long InfluxDB stays away. (influxdb-client's own batching writer
retried on threads that a closing process had to wait for, up to its whole retry window, and lost its pending points
from the counts.)
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

log = logging.getLogger("eldercare.telemetry")


def _retriable(error: Exception) -> bool:
    """Server trouble and no answer are worth retrying; a request InfluxDB refused (bad token, bad bucket) is not."""
    status = getattr(error, "status", None) if isinstance(error, ApiException) else None
    return status is None or status == 429 or status >= 500


class InfluxSink:
    """Bounded, retrying, counting writer of points to one InfluxDB 2 bucket."""

    def __init__(self, url: str, org: str, bucket: str, token: str | None, *, max_pending: int = 100_000,
                 batch_size: int = 1000, flush_ms: int = 1000, max_retries: int = 5, timeout_ms: int = 5000,
                 retry_s: float = 1.0, max_retry_s: float = 30.0, close_wait_s: float = 5.0) -> None:
        self.bucket, self.org = bucket, org
        self.max_pending, self.batch_size = max_pending, batch_size
        self.flush_s, self.max_retries = flush_ms / 1000, max_retries
        self.retry_s, self.max_retry_s = retry_s, max_retry_s
        self.close_wait_s, self.timeout_s = close_wait_s, timeout_ms / 1000
        self.written = self.dropped = self.retried = 0
        self._queue: deque[Point] = deque()
        self._sending = 0  # points taken by the writer thread and not yet counted
        self._cond = threading.Condition()
        self._closing = threading.Event()
        self._close_by = 0.0  # monotonic deadline for sending, once closing
        self._client = InfluxDBClient(url=url, token=token or "", org=org, timeout=timeout_ms)
        self._api = self._client.write_api(write_options=SYNCHRONOUS)
        self._thread = threading.Thread(target=self._run, name="influx-sink", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        return self.counts()[2]

    def counts(self) -> tuple[int, int, int]:
        """(written, dropped, pending) points, read together."""
        with self._cond:
            return self.written, self.dropped, len(self._queue) + self._sending

    def write(self, points: Iterable[Point]) -> int:
        """Queue points; returns how many were taken (the rest were dropped: the buffer is full, or closed)."""
        batch = list(points)
        if not batch:
            return 0
        with self._cond:
            room = 0 if self._closing.is_set() else max(0, self.max_pending - len(self._queue) - self._sending)
            taken = batch[:room]
            self._queue.extend(taken)
            self.dropped += len(batch) - len(taken)
            if len(self._queue) >= self.batch_size:
                self._cond.notify()
        return len(taken)

    def close(self) -> None:
        """Send what can be sent within `close_wait_s`, count the rest as dropped, and stop."""
        with self._cond:
            self._close_by = time.monotonic() + self.close_wait_s
            self._closing.set()
            self._cond.notify()
        self._thread.join(self.close_wait_s + self.timeout_s + 1)
        if self._thread.is_alive():  # stuck in a request beyond its timeout: its points are lost with the process
            log.warning("telemetry writer still busy at close", extra={"points": self.pending})
        self._client.close()  # type: ignore[no-untyped-call]

    # --- the writer thread -------------------------------------------------------------------------------------
    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            if self._closing.is_set() and time.monotonic() >= self._close_by:
                self._settle(batch, ok=False, reason="closed before it could be sent")
            else:
                self._send(batch)

    def _next_batch(self) -> list[Point] | None:
        """Wait for a full batch, or a flush interval with something queued, or closing; None once closing has
        emptied the queue."""
        with self._cond:
            deadline = time.monotonic() + self.flush_s
            while not self._closing.is_set() and len(self._queue) < self.batch_size:
                left = deadline - time.monotonic()
                if left <= 0:
                    if self._queue:
                        break
                    deadline = time.monotonic() + self.flush_s  # nothing to flush: a new interval
                    continue
                self._cond.wait(left)
            if not self._queue:
                return None
            batch = [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]
            self._sending = len(batch)
            return batch

    def _send(self, batch: list[Point]) -> None:
        delay = self.retry_s
        for attempt in range(self.max_retries + 1):
            last_chance = self._closing.is_set()
            try:
                self._api.write(self.bucket, self.org, batch, write_precision=WritePrecision.MS)  # type: ignore[arg-type]
            except Exception as exc:  # connection refused, timeouts, HTTP errors: counted, never raised into ingest
                reason = str(exc)[:200]
                if not _retriable(exc):
                    self._settle(batch, ok=False, reason=f"refused by InfluxDB: {reason}")
                    return
                if attempt == self.max_retries or last_chance:
                    self._settle(batch, ok=False, reason=f"failed after {attempt + 1} attempts: {reason}")
                    return
                with self._cond:
                    self.retried += 1
                log.info("telemetry write retrying", extra={"reason": reason, "retry_s": delay})
                self._closing.wait(delay)  # cut short by close(): then one last attempt, no more waiting
                delay = min(delay * 2, self.max_retry_s)
            else:
                self._settle(batch, ok=True)
                return

    def _settle(self, batch: list[Point], *, ok: bool, reason: str = "") -> None:
        with self._cond:
            if ok:
                self.written += len(batch)
            else:
                self.dropped += len(batch)
            self._sending = 0
        if not ok:
            log.warning("telemetry batch dropped", extra={"points": len(batch), "reason": reason})
