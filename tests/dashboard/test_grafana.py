"""Grafana dashboards parse, every panel names a provisioned datasource, every measurement is one the sink writes."""

import importlib
import json
import re
from pathlib import Path

import yaml

from station_protocol.topics import AGENT_KINDS, DEVICE_KINDS

GRAFANA = Path(__file__).resolve().parents[2] / "dashboards" / "grafana"
MEASUREMENT_EQ = re.compile(r'r\._measurement\s*==\s*"([^"]+)"')
MEASUREMENT_SET = re.compile(r"r\._measurement,\s*set:\s*\[([^\]]*)\]")


def sink_measurements() -> set[str]:
    """What the InfluxDB sink writes: one measurement per message type (docs/cloud-ingest.md)."""
    try:
        sink = importlib.import_module("cloud.ingest.influx")  # the sink's own list, once it exists
        return set(sink.MEASUREMENTS)
    except (ImportError, AttributeError):
        return {str(k) for k in DEVICE_KINDS | AGENT_KINDS}


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


def test_every_queried_measurement_is_written_by_the_sink() -> None:
    written = sink_measurements()
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
                queried |= names
    # Stations online, people flow and ingest health between them read every kind of telemetry.
    assert queried == written


def test_dashboard_provisioning_points_at_a_folder() -> None:
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "eldercare.yaml").read_text("utf-8"))
    assert providers["providers"][0]["type"] == "file"
