"""The InfluxDB sink against a real server speaking the v2 write API (VictoriaMetrics), read back through its export
API; and ingest carrying on when the telemetry server is gone."""

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from cloud.convert import Accepted, StationInfo, convert
from cloud.store.models import Event
from cloud.telemetry.points import to_point
from cloud.telemetry.sink import InfluxSink
from tests.ingest.conftest import Station, count, publish, running_ingester
from tests.localservices import Mosquitto, VictoriaMetrics, free_port, run_victoria_metrics
from tests.wait import poll

INFO = StationInfo("qd-a", "汇龙镇", "3A", ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def victoria() -> Iterator[VictoriaMetrics]:
    with run_victoria_metrics() as vm:
        yield vm


def _accepted(topic: str, payload: bytes) -> Accepted:
    outcome = convert(topic, payload, datetime.now(UTC), lambda _: INFO)
    assert isinstance(outcome, Accepted)
    return outcome


def _export(vm: VictoriaMetrics, expected: int) -> dict[str, tuple[dict[str, str], list[float], list[int]]]:
    """Every series, once `expected` of them are searchable (VictoriaMetrics ingests asynchronously)."""
    poll(lambda: len(_read(vm)) >= expected, timeout=15, what=f"{expected} series")
    return _read(vm)


def _read(vm: VictoriaMetrics) -> dict[str, tuple[dict[str, str], list[float], list[int]]]:
    urllib.request.urlopen(f"{vm.url}/internal/force_flush").read()
    query = urllib.parse.quote('{__name__!=""}')
    body = urllib.request.urlopen(f"{vm.url}/api/v1/export?match[]={query}").read().decode()
    series = {}
    for line in body.splitlines():
        row = json.loads(line)
        labels = dict(row["metric"])
        series[labels.pop("__name__")] = (labels, row["values"], row["timestamps"])
    return series


def test_points_are_written_with_the_documented_names_and_tags(victoria: VictoriaMetrics) -> None:
    a = Station("qd-a")
    ts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    items = [_accepted(*a.flow(3, ts=ts)), _accepted(*a.door("open", ts=ts)), _accepted(*a.face()),
             _accepted(*a.call()), _accepted(*a.health(False, error="wire cut")), _accepted(*a.status(True)),
             _accepted(*a.heartbeat())]
    sink = InfluxSink(victoria.url, "eldercare", "telemetry", None, flush_ms=100)
    assert sink.write(p for p in map(to_point, items) if p is not None) == 7
    sink.close()
    assert (sink.written, sink.dropped) == (7, 0)
    series = _export(victoria, 16)  # the numeric fields of the seven messages, plus string ones read as 0
    labels, values, stamps = series["flow_in"]
    assert labels == {"station": "qd-a", "town": "汇龙镇", "kind": "station", "grade": "3A", "device": "flow-1"}
    assert values == [3] and stamps == [int(ts.timestamp() * 1000)]
    assert series["door_open"][0]["state"] == "open" and series["door_open"][1] == [1]
    assert series["face_seen"][0]["role"] == "elder" and series["face_distance"][1] == [0.38]
    assert series["call_pressed"][1] == [1] and series["health_ok"][1] == [0]
    assert series["status_online"][1] == [1] and series["heartbeat_uptime_s"][0]["device"] == "agent"
    assert {"flow_out", "flow_period_s", "door_fault", "call_cancelled", "heartbeat_outbox"} <= set(series)


def test_clock_faulted_events_are_not_written() -> None:
    a = Station("qd-a")
    assert to_point(_accepted(*a.flow(1, ts=datetime.now(UTC) + timedelta(days=30)))) is None


def test_a_dead_influxdb_drops_within_the_bound_and_counts() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    sink = InfluxSink(dead, "eldercare", "telemetry", None, max_pending=10, flush_ms=50, max_retries=0)
    point = to_point(_accepted(*Station("qd-a").door()))
    assert point is not None
    assert sink.write([point] * 50) == 10  # the bound: 40 dropped at once
    sink.close()
    assert sink.dropped == 50 and sink.written == 0 and sink.pending == 0


def test_a_batch_retried_while_influxdb_is_down_is_written_when_it_returns() -> None:
    port = free_port()
    sink = InfluxSink(f"http://127.0.0.1:{port}", "eldercare", "telemetry", None, flush_ms=50, retry_s=0.2,
                      max_retry_s=0.5, max_retries=100)
    point = to_point(_accepted(*Station("qd-a").flow(4)))
    assert point is not None
    sink.write([point] * 3)
    poll(lambda: sink.retried >= 2, timeout=15, what="the sink to retry against nothing")
    assert (sink.written, sink.dropped, sink.pending) == (0, 0, 3)
    with run_victoria_metrics(port) as vm:
        poll(lambda: sink.written == 3, timeout=30, what="the retried batch to be written")
        sink.close()
        assert _export(vm, 1)["flow_in"][1] == [4, 4, 4]  # VictoriaMetrics keeps equal-time samples; InfluxDB one
    assert (sink.dropped, sink.pending) == (0, 0)


def test_closing_while_influxdb_is_down_does_not_wait_out_the_back_off_and_counts_every_point() -> None:
    sink = InfluxSink(f"http://127.0.0.1:{free_port()}", "eldercare", "telemetry", None, flush_ms=50,
                      retry_s=600, max_retries=5, batch_size=2)
    point = to_point(_accepted(*Station("qd-a").door()))
    assert point is not None
    assert sink.write([point] * 7) == 7
    poll(lambda: sink.retried == 1, timeout=15, what="the first batch to fail and back off")
    sink.close()  # wakes the ten-minute back-off: one last attempt, then every point is counted
    assert (sink.written, sink.dropped, sink.pending) == (0, 7, 0)
    assert sink.write([point]) == 0 and sink.dropped == 8  # closed: refused and counted


def test_ingest_goes_on_when_influxdb_is_down(mosquitto: Mosquitto, engine: Engine) -> None:
    sink = InfluxSink(f"http://127.0.0.1:{free_port()}", "eldercare", "telemetry", None, max_pending=5,
                      flush_ms=50, max_retries=1)
    a = Station("qd-a")
    with running_ingester(mosquitto, engine, sink=sink) as ingester:
        publish(mosquitto, [a.flow(i) for i in range(30)])
        poll(lambda: count(engine, Event) == 30)
    assert ingester.totals["stored"] == 30
    assert sink.dropped >= 25 and sink.written == 0
