"""The Prometheus series the platform's processes really expose, read from their own registries: what the alert
rules and the pipeline-health dashboard may query."""

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from cloud.api.metrics import install
from cloud.ingest.metrics import IngestMetrics

SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
# Series Prometheus makes itself: one per target, one per alert.
PROMETHEUS_OWN = {"up", "ALERTS", "ALERTS_FOR_STATE"}
# Alertmanager's, per channel (`integration`); tests/platform/test_alertmanager.py reads them from a running one.
ALERTMANAGER_OWN = {"alertmanager_notifications_total", "alertmanager_notifications_failed_total"}
SERIES_NAME = re.compile(r"\b(eldercare_[a-z_]+|alertmanager_[a-z_]+|up|ALERTS)\b")


def _names(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


def exposed() -> set[str]:
    """Every series name an ingester (telemetry on), the API and Alertmanager serve on /metrics."""
    metrics = IngestMetrics()
    metrics.watch_telemetry(lambda: (0, 0, 0))
    app = FastAPI()
    install(app)
    api = TestClient(app).get("/metrics").text
    return _names(generate_latest(metrics.registry).decode()) | _names(api) | PROMETHEUS_OWN | ALERTMANAGER_OWN


def queried(expr: str) -> set[str]:
    """The series names a PromQL expression reads."""
    return set(SERIES_NAME.findall(expr))
