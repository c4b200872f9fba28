"""Ingest's Prometheus metrics, in their own registry (built when the ingester starts, never at import)."""

from collections.abc import Callable
from functools import partial

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class IngestMetrics:
    """received, stored, duplicates, invalid (by category), batch latency and size, lag, queue depth."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("eldercare_ingest_received", "MQTT messages received", registry=r)
        self.stored = Counter("eldercare_ingest_stored", "Events newly committed", registry=r)
        self.accepted = Counter("eldercare_ingest_valid", "Valid messages of registered stations, by type",
                                ["kind"], registry=r)
        self.duplicates = Counter("eldercare_ingest_duplicates", "Events already stored (redelivery, replay)",
                                  registry=r)
        self.invalid = Counter("eldercare_ingest_invalid", "Messages dead-lettered, by category", ["category"],
                               registry=r)
        self.ignored = Counter("eldercare_ingest_ignored", "Valid commands to stations (the cloud's own), not stored",
                               registry=r)
        self.alerts = Counter("eldercare_ingest_call_alerts", "Emergency-call alerts raised on the fast path",
                              registry=r)
        self.batch_seconds = Histogram("eldercare_ingest_batch_seconds", "Time to convert and commit one batch",
                                       buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
                                       registry=r)
        self.batch_size = Histogram("eldercare_ingest_batch_size", "Messages per batch",
                                    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000), registry=r)
        self.lag = Histogram("eldercare_ingest_lag_seconds", "Commit time minus the event's sent (else ts) time",
                             buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 3600, 86400), registry=r)
        self.queue = Gauge("eldercare_ingest_queue", "Messages received and not yet committed", registry=r)
        self.last_commit = Gauge("eldercare_ingest_last_commit_timestamp_seconds",
                                 "Unix time of the last committed batch", registry=r)
        self.store_errors = Counter("eldercare_ingest_store_unavailable", "Batches retried: database unavailable",
                                    registry=r)
        self.lookup_errors = Counter("eldercare_ingest_lookup_failed",
                                     "Station lookups that failed (database away); the message waits, unacked",
                                     registry=r)
        self.row_by_row = Counter("eldercare_ingest_row_by_row", "Batches the store partly refused, written row by row",
                                  registry=r)
        self.dropped_fields = Counter("eldercare_ingest_dropped_fields",
                                      "Unknown extra fields dropped from valid messages before storage, by type",
                                      ["kind"], registry=r)
        # A connection the broker answered without a session (CONNACK session present = 0), other than the first
        # start of a client id the store never saw: the broker dropped its session, and with it everything it had
        # dealt to it while it was away, already acknowledged to the stations.
        self.session_lost = Counter("eldercare_ingest_session_lost",
                                    "Connections the broker answered without the session this client id had "
                                    "(away past --session-expiry, or the broker lost it): what it held is lost",
                                    registry=r)
        self.session_present = Gauge("eldercare_ingest_session_present",
                                     "1 if the current broker connection resumed this client id's session, else 0",
                                     registry=r)
        self.clock_faults = Counter("eldercare_ingest_clock_faults", "Valid messages flagged as clock faults",
                                    registry=r)

    def watch_telemetry(self, counts: Callable[[], tuple[int, int, int]]) -> None:
        """Expose the telemetry sink's (written, dropped, pending) points, read at scrape time."""
        gauge = Gauge("eldercare_telemetry_points", "Telemetry points by fate: written, dropped, pending",
                      ["fate"], registry=self.registry)
        for i, fate in enumerate(("written", "dropped", "pending")):
            gauge.labels(fate).set_function(partial(lambda i: counts()[i], i))

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Expose /metrics on host:port (a daemon thread of prometheus-client)."""
        start_http_server(port, addr=host, registry=self.registry)
