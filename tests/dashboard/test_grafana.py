"""Grafana dashboards parse, every panel names a provisioned datasource, every measurement is one the sink writes,
every Prometheus series one the processes expose."""

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from cloud.convert import Accepted, StationInfo, convert
from cloud.telemetry.points import to_point
from tests.platform.metric_names import exposed, queried

GRAFANA = Path(__file__).resolve().parents[2] / "dashboards" / "grafana"
MEASUREMENT_EQ = re.compile(r'r\._measurement\s*==\s*"([^"]+)"')
FIELD_EQ = re.compile(r'r\._field\s*==\s*"([^"]+)"')
MEASUREMENT_SET = re.compile(r"r\._measurement,\s*set:\s*\[([^\]]*)\]")


SAMPLES: dict[str, dict[str, object]] = {
    "flow": {"period_s": 60, "in": 3, "out": 2, "counter_in": 10, "counter_out": 8},
    "door": {"state": "open"},
    "face": {"person": "e-001", "role": "elder", "distance": 0.4},
    "call": {"action": "pressed", "call": "c-1"},
    "health": {"ok": False, "error": "lens-covered"},
}


def sink_lines(station: StationInfo) -> list[str]:
    """The line protocol the ingest sink writes for each kind of message: real messages through its own convert and
    to_point."""
    ts = "2026-10-12T09:00:00+08:00"
    messages: list[tuple[str, dict[str, object]]] = [
        (f"eldercare/v1/qd-01/dev-1/{kind}", {"v": 1, "id": str(uuid.uuid4()), "station": "qd-01", "device": "dev-1",
                                               "seq": 1, "ts": ts, **fields})
        for kind, fields in SAMPLES.items()
    ]
    messages.append(("eldercare/v1/qd-01/agent/status", {"v": 1, "station": "qd-01", "online": True, "ts": ts}))
    messages.append(("eldercare/v1/qd-01/agent/heartbeat", {"v": 1, "station": "qd-01", "ts": ts, "version": "1",
                                                            "uptime_s": 5.0, "outbox": 0, "clock_offset_ms": 3.0}))
    lines = []
    for topic, payload in messages:
        accepted = convert(topic, json.dumps(payload).encode(), datetime.now(UTC), lambda _: station)
        assert isinstance(accepted, Accepted), accepted
        point = to_point(accepted)
        assert point is not None
        lines.append(point.to_line_protocol())  # type: ignore[no-untyped-call]
    return lines


STATION = StationInfo(id="qd-01", town="汇龙镇", grade="3A", timezone=ZoneInfo("Asia/Shanghai"))
CENTRE = StationInfo(id="qd-01", town="汇龙镇", grade=None, timezone=ZoneInfo("Asia/Shanghai"), kind="care_centre")


def sink_fields() -> dict[str, set[str]]:
    """Measurement -> fields, as the ingest sink writes them."""
    return {line.split(",", 1)[0]: {pair.split("=", 1)[0] for pair in line.split(" ")[1].split(",")}
            for line in sink_lines(STATION)}


def sink_tags(station: StationInfo) -> dict[str, dict[str, str]]:
    """Measurement -> its tags and their values, as the ingest sink writes them for `station`."""
    return {line.split(" ")[0].split(",")[0]: dict(pair.split("=", 1) for pair in line.split(" ")[0].split(",")[1:])
            for line in sink_lines(station)}


def provisioned_datasources() -> dict[str, dict[str, object]]:
    found = {}
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yaml"):
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]:
            found[source["uid"]] = source
    return found


def dashboards() -> list[tuple[Path, dict[str, object]]]:
    return [(p, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(GRAFANA.glob("*.json"))]


def test_the_dashboards_parse_and_use_provisioned_datasources() -> None:
    sources = provisioned_datasources()
    assert {uid: s["type"] for uid, s in sources.items()} == {
        "eldercare-influxdb": "influxdb", "eldercare-prometheus": "prometheus",
        "eldercare-alertmanager": "alertmanager"}  # Grafana's alerting pages: silences, what was sent
    boards = dashboards()
    assert {b["uid"] for _, b in boards} == {
        "eldercare-stations-online", "eldercare-people-flow", "eldercare-ingest-health", "eldercare-pipeline-health"}
    for path, board in boards:
        panels = board["panels"]
        assert isinstance(panels, list) and panels, path
        for panel in panels:
            assert panel["datasource"]["uid"] in sources, (path.name, panel["title"])
            for target in panel["targets"]:
                source = sources[target["datasource"]["uid"]]
                assert target["datasource"]["type"] == source["type"], (path.name, panel["title"])
                text = target["query"] if source["type"] == "influxdb" else target["expr"]
                assert text.strip(), (path.name, panel["title"])


def _targets(kind: str) -> list[tuple[str, str, dict[str, str]]]:
    """(dashboard file, panel title, target) of every target on a datasource of this type."""
    return [(path.name, panel["title"], target) for path, board in dashboards()
            for panel in board["panels"] for target in panel["targets"]  # type: ignore[attr-defined]
            if target["datasource"]["type"] == kind]


def test_the_pipeline_health_dashboard_reads_only_series_the_processes_expose() -> None:
    series = exposed()
    read: set[str] = set()
    for name, title, target in _targets("prometheus"):
        names = queried(target["expr"])
        assert names, (name, title, "queries no series")
        assert names <= series, (name, title, names - series)
        read |= names
    # What an operator must see: sessions, the queue, the last commit, stored and dead letters, lag, the database,
    # API errors, and the alerts firing.
    assert {"eldercare_ingest_session_present", "eldercare_ingest_session_lost_total", "eldercare_ingest_queue",
            "eldercare_ingest_last_commit_timestamp_seconds", "eldercare_ingest_stored_total",
            "eldercare_ingest_invalid_total", "eldercare_ingest_lag_seconds_bucket",
            "eldercare_ingest_store_unavailable_total", "eldercare_api_requests_total", "ALERTS"} <= read


def test_the_alerts_firing_leave_out_the_dead_mans_switch() -> None:
    # Watchdog always fires (deploy/prometheus/alerts.yml): listed among the alerts firing, it would read as a problem
    # that never clears, and train the operator to skip the list.
    reading_alerts = [(name, title, target["expr"]) for name, title, target in _targets("prometheus")
                      if "ALERTS" in queried(target["expr"])]
    assert reading_alerts
    for name, title, expr in reading_alerts:
        assert re.search(r'ALERTS\{[^}]*alertname!="Watchdog"', expr), (name, title, expr)


def test_every_queried_measurement_and_field_is_written_by_the_sink() -> None:
    fields = sink_fields()
    written = set(fields)
    assert written == {"flow", "door", "face", "call", "health", "status", "heartbeat"}
    read: set[str] = set()
    for name, title, target in _targets("influxdb"):
        query = target["query"]
        names = set(MEASUREMENT_EQ.findall(query))
        for group in MEASUREMENT_SET.findall(query):
            names |= {n.strip().strip('"') for n in group.split(",")}
        assert names, (name, title, "queries no measurement")
        assert names <= written, (name, title, names - written)
        for field in FIELD_EQ.findall(query):
            assert any(field in fields[n] for n in names), (name, title, field)
        read |= names
    # Stations online, people flow and ingest health between them read every kind of telemetry.
    assert read == written


GROUP_COLUMNS = re.compile(r"group\(columns:\s*\[([^\]]*)\]")


def test_every_point_says_what_kind_of_site_sent_it_and_every_grouped_tag_is_written() -> None:
    """A care centre and a neighbourhood point have no grade: the `kind` tag tells them from the graded stations (a
    panel grouping by grade alone put them all in one nameless bar)."""
    for measurement, tags in sink_tags(CENTRE).items():
        assert tags["kind"] == "care_centre" and "grade" not in tags, measurement
    station = sink_tags(STATION)
    for measurement, tags in station.items():
        assert (tags["kind"], tags["grade"], tags["station"]) == ("station", "3A", "qd-01"), measurement
    for name, title, target in _targets("influxdb"):
        for group in GROUP_COLUMNS.findall(target["query"]):
            columns = {c.strip().strip('"') for c in group.split(",")} - {"_measurement", "_time", "_field"}
            names = set(MEASUREMENT_EQ.findall(target["query"])) or set(station)
            for measurement in names:
                assert columns <= set(station[measurement]), (name, title, measurement, columns)


def test_dashboard_provisioning_points_at_a_folder() -> None:
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "eldercare.yaml").read_text("utf-8"))
    assert providers["providers"][0]["type"] == "file"
