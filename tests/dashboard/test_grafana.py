"""Grafana dashboards parse, every panel names a provisioned datasource, every measurement is one the sink writes."""

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from cloud.convert import Accepted, StationInfo, convert
from cloud.telemetry.points import to_point

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


def sink_fields() -> dict[str, set[str]]:
    """Measurement -> fields, as the ingest sink writes them: real messages through its own convert and to_point."""
    station = StationInfo(id="qd-01", town="汇龙镇", grade="3A", timezone=ZoneInfo("Asia/Shanghai"))
    ts = "2026-10-12T09:00:00+08:00"
    messages: list[tuple[str, dict[str, object]]] = [
        (f"eldercare/v1/qd-01/dev-1/{kind}", {"v": 1, "id": str(uuid.uuid4()), "station": "qd-01", "device": "dev-1",
                                               "seq": 1, "ts": ts, **fields})
        for kind, fields in SAMPLES.items()
    ]
    messages.append(("eldercare/v1/qd-01/agent/status", {"v": 1, "station": "qd-01", "online": True, "ts": ts}))
    messages.append(("eldercare/v1/qd-01/agent/heartbeat", {"v": 1, "station": "qd-01", "ts": ts, "version": "1",
                                                            "uptime_s": 5.0, "outbox": 0, "clock_offset_ms": 3.0}))
    written: dict[str, set[str]] = {}
    for topic, payload in messages:
        accepted = convert(topic, json.dumps(payload).encode(), datetime.now(UTC), lambda _: station)
        assert isinstance(accepted, Accepted), accepted
        point = to_point(accepted)
        assert point is not None
        line = point.to_line_protocol()  # type: ignore[no-untyped-call]
        measurement = line.split(",", 1)[0]
        fields = line.split(" ")[1]
        written[measurement] = {pair.split("=", 1)[0] for pair in fields.split(",")}
    return written


def provisioned_datasources() -> dict[str, dict[str, object]]:
    found = {}
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yaml"):
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]:
            found[source["uid"]] = source
    return found


def dashboards() -> list[tuple[Path, dict[str, object]]]:
    return [(p, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(GRAFANA.glob("*.json"))]


def test_the_three_dashboards_parse_and_use_provisioned_datasources() -> None:
    sources = provisioned_datasources()
    assert sources and all(s["type"] == "influxdb" for s in sources.values())
    boards = dashboards()
    assert {b["uid"] for _, b in boards} == {
        "eldercare-stations-online", "eldercare-people-flow", "eldercare-ingest-health"}
    for path, board in boards:
        panels = board["panels"]
        assert isinstance(panels, list) and panels, path
        for panel in panels:
            assert panel["datasource"]["uid"] in sources, (path.name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] in sources, (path.name, panel["title"])
                assert target["query"].strip(), (path.name, panel["title"])


def test_every_queried_measurement_and_field_is_written_by_the_sink() -> None:
    fields = sink_fields()
    written = set(fields)
    assert written == {"flow", "door", "face", "call", "health", "status", "heartbeat"}
    queried: set[str] = set()
    for path, board in dashboards():
        for panel in board["panels"]:  # type: ignore[attr-defined]
            for target in panel["targets"]:
                query = target["query"]
                names = set(MEASUREMENT_EQ.findall(query))
                for group in MEASUREMENT_SET.findall(query):
                    names |= {n.strip().strip('"') for n in group.split(",")}
                assert names, (path.name, panel["title"], "queries no measurement")
                assert names <= written, (path.name, panel["title"], names - written)
                for field in FIELD_EQ.findall(query):
                    assert any(field in fields[n] for n in names), (path.name, panel["title"], field)
                queried |= names
    # Stations online, people flow and ingest health between them read every kind of telemetry.
    assert queried == written


def test_dashboard_provisioning_points_at_a_folder() -> None:
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "eldercare.yaml").read_text("utf-8"))
    assert providers["providers"][0]["type"] == "file"
