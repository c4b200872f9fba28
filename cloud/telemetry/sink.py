"""The InfluxDB sink: influxdb-client's batching writer behind a bound, so a slow or dead InfluxDB never blocks ingest.

Points are handed over without waiting. The client batches, retries with back-off, and reports each batch's fate
through callbacks; points still pending beyond `max_pending` are dropped at once and counted, as are batches that
failed after every retry.
"""

import logging
import threading
from collections.abc import Iterable
from typing import Any

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write.point import Point
from influxdb_client.client.write_api import WriteOptions
from influxdb_client.domain.write_precision import WritePrecision

log = logging.getLogger("eldercare.telemetry")


def _lines(data: Any) -> int:
    text = data.decode() if isinstance(data, bytes) else str(data)
    return text.count("\n") + 1 if text else 0


class InfluxSink:
    """Bounded, retrying, counting writer of points to one InfluxDB 2 bucket."""

    def __init__(self, url: str, org: str, bucket: str, token: str | None, *, max_pending: int = 100_000,
                 batch_size: int = 1000, flush_ms: int = 1000, max_retries: int = 5, timeout_ms: int = 5000) -> None:
        self.bucket, self.org = bucket, org
        self.max_pending = max_pending
        self.written = self.dropped = self.retried = 0
        self._submitted = 0
        self._lock = threading.Lock()
        self._client = InfluxDBClient(url=url, token=token or "", org=org, timeout=timeout_ms)
        self._api = self._client.write_api(
            write_options=WriteOptions(batch_size=batch_size, flush_interval=flush_ms, retry_interval=1000,
                                       max_retries=max_retries, max_retry_delay=30_000, max_retry_time=120_000,
                                       max_close_wait=5_000),
            success_callback=self._ok, error_callback=self._failed, retry_callback=self._retry,
        )

    @property
    def pending(self) -> int:
        with self._lock:
            return self._submitted - self.written - self.dropped

    def _ok(self, _conf: Any, data: Any) -> None:
        with self._lock:
            self.written += _lines(data)

    def _failed(self, _conf: Any, data: Any, error: Exception) -> None:
        lines = _lines(data)
        with self._lock:
            self.dropped += lines
        log.warning("telemetry batch dropped after retries", extra={"points": lines, "reason": str(error)[:200]})

    def _retry(self, _conf: Any, _data: Any, error: Exception) -> None:
        with self._lock:
            self.retried += 1
        log.info("telemetry write retrying", extra={"reason": str(error)[:200]})

    def write(self, points: Iterable[Point]) -> int:
        """Queue points; returns how many were taken (the rest were dropped: the buffer is full)."""
        batch = list(points)
        if not batch:
            return 0
        with self._lock:
            room = max(0, self.max_pending - (self._submitted - self.written - self.dropped))
            taken = batch[:room]
            self._submitted += len(batch)
            self.dropped += len(batch) - len(taken)
        if taken:
            self._api.write(self.bucket, self.org, taken, write_precision=WritePrecision.MS)  # type: ignore[arg-type]
        return len(taken)

    def close(self) -> None:
        """Flush what can be flushed and stop the client's threads."""
        self._api.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]
