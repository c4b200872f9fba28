"""The pure conversion rules: validation outcome, local date, ids for agent messages, device folding."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import OperationalError

from cloud.convert import Accepted, Ignored, LookupFailed, Rejected, StationInfo, convert, fold_devices
from cloud.ingest.stations import StationCache
from cloud.registry.csv_rows import parse_station_csv
from cloud.registry.store import upsert_stations
from tests.ingest.conftest import Station, prepare

INFO = {"qd-a": StationInfo("qd-a", "汇龙镇", "3A", ZoneInfo("Asia/Shanghai"))}
NOW = datetime(2026, 10, 12, 18, 0, tzinfo=UTC)


def _convert(topic: str, payload: bytes) -> Accepted | Rejected | Ignored:
    return convert(topic, payload, NOW, INFO.get)


def test_local_date_is_the_stations_day() -> None:
    outcome = _convert(*Station("qd-a").flow(2, ts=datetime(2026, 10, 12, 16, 30, tzinfo=UTC)))
    assert isinstance(outcome, Accepted)
    assert outcome.local_date == date(2026, 10, 13) and json.loads(outcome.payload_text)["in"] == 2
    assert outcome.row["clock_fault"] is None and outcome.pressed_call is None


def test_rejections_name_their_category() -> None:
    a = Station("qd-a")
    spoofed = _convert("eldercare/v1/qd-a/door-2/door", a.door()[1])
    assert isinstance(spoofed, Rejected) and spoofed.category == "spoofed" and "device: payload says" in spoofed.reason
    unknown = _convert(*Station("qd-zz").door())
    assert isinstance(unknown, Rejected) and unknown.category == "unknown_station" and unknown.station_id == "qd-zz"
    bad_topic = _convert("eldercare/v1/QD/door-1/door", b"{}")
    assert isinstance(bad_topic, Rejected) and bad_topic.category == "invalid" and bad_topic.station_id is None
    no_offset = json.loads(a.door()[1])
    no_offset["ts"] = "2026-10-12T08:00:00"
    naive = _convert("eldercare/v1/qd-a/door-1/door", json.dumps(no_offset).encode())
    assert isinstance(naive, Rejected) and "ts has no UTC offset" in naive.reason


def test_the_clouds_own_commands_are_ignored_and_anything_else_on_cmd_is_a_dead_letter() -> None:
    ack = json.dumps({"v": 1, "call": "c-1", "by": "staff:wang", "ts": NOW.isoformat()}).encode()
    assert isinstance(_convert("eldercare/v1/qd-a/cmd/call-ack", ack), Ignored)
    check = json.dumps({"v": 1, "check": "tc-1", "ts": NOW.isoformat()}).encode()
    assert isinstance(_convert("eldercare/v1/qd-a/cmd/time-check", check), Ignored)
    # No command of the protocol: an unknown topic like any other, not a command the cloud sent.
    flow = _convert("eldercare/v1/qd-a/cmd/flow", Station("qd-a").flow()[1])
    assert isinstance(flow, Rejected) and flow.category == "invalid" and flow.station_id == "qd-a"
    assert flow.reason == "unknown command 'flow'; known: call-ack, time-check"
    broken = _convert("eldercare/v1/qd-a/cmd/call-ack", b"{}")
    assert isinstance(broken, Rejected) and broken.category == "invalid" and "call is required" in broken.reason


def test_clock_faults_are_flagged_not_rejected() -> None:
    outcome = _convert(*Station("qd-a").door(ts=NOW + timedelta(hours=2)))
    assert isinstance(outcome, Accepted) and outcome.row["clock_fault"] is not None


def test_agent_messages_get_a_stable_id() -> None:
    a = Station("qd-a")
    ts = NOW - timedelta(minutes=1)
    first, again = _convert(*a.status(True, ts=ts)), _convert(*a.status(True, ts=ts))
    assert isinstance(first, Accepted) and isinstance(again, Accepted)
    assert first.row["id"] == again.row["id"] and isinstance(first.row["id"], uuid.UUID)
    assert first.row["seq"] is None and first.device == "agent"


def test_fold_devices_keeps_the_latest_health_and_seen() -> None:
    a = Station("qd-a")
    early, late = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    items = [_convert(*a.health(False, error="late", ts=late)), _convert(*a.health(True, ts=early)),
             _convert(*a.status(False, ts=late))]
    assert all(isinstance(i, Accepted) for i in items)
    folded = {d.device_id: d for d in fold_devices([i for i in items if isinstance(i, Accepted)])}
    door, agent = folded["door-1"], folded["agent"]
    assert (door.health_ok, door.health_at, door.last_seen_at) == (False, late, late)
    assert door.health is not None and door.health["error"] == "late"
    assert (agent.kind, agent.online, agent.health_ok) == ("agent", False, False)


def test_a_failing_lookup_raises_instead_of_rejecting_the_message() -> None:
    def away(_station: str) -> StationInfo | None:
        raise OperationalError("SELECT stations", {}, ConnectionRefusedError("connection refused"))

    with pytest.raises(LookupFailed, match="station lookup failed: OperationalError"):
        convert(*Station("qd-a").door(), NOW, away)


def test_a_flows_counter_change_is_validated_and_stored() -> None:
    topic, payload = Station("qd-a").flow(0)
    marked = json.dumps({**json.loads(payload), "counter_change": "reset"}).encode()
    outcome = _convert(topic, marked)
    assert isinstance(outcome, Accepted) and outcome.dropped == 0
    assert json.loads(outcome.payload_text)["counter_change"] == "reset"


def test_unknown_extra_fields_are_dropped_and_counted() -> None:
    topic, payload = Station("qd-a").face()
    data = {**json.loads(payload), "image_jpeg_b64": "/9j/4AAQSkZJRg", "encoding": [0.1, -0.2]}
    outcome = _convert(topic, json.dumps(data).encode())
    assert isinstance(outcome, Accepted) and outcome.dropped == 2
    assert "image_jpeg_b64" not in outcome.payload_text and "encoding" not in outcome.payload_text
    assert json.loads(outcome.payload_text) == json.loads(payload)



def test_the_station_cache_answers_known_stations_and_raises_for_others_while_the_database_is_away(
        tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    engine = prepare(f"sqlite:///{path}")
    cache = StationCache(engine, refresh_interval=0.0, miss_interval=60.0)
    cache.refresh()
    assert cache("qd-a") is not None and cache("qd-zz") is None  # a miss right after a refresh: unknown
    engine.dispose()
    path.unlink()  # the registry is gone: the next connection finds no `stations` table
    refreshes = 0
    real_refresh = cache.refresh

    def counting() -> None:
        nonlocal refreshes
        refreshes += 1
        real_refresh()

    cache.refresh = counting  # type: ignore[method-assign]
    info = cache("qd-a")  # due for its periodic refresh, which fails: answered from the cache
    assert info is not None and info.id == "qd-a" and refreshes == 1
    cache._loaded_at = float("-inf")  # as if the miss interval had passed since the last good read
    with pytest.raises(RuntimeError, match="registry unavailable"):
        cache("qd-new")  # the failure a moment ago is not retried for every message
    assert refreshes == 1
    with pytest.raises(LookupFailed, match="station lookup failed"):
        convert(*Station("qd-new").door(), NOW, cache)
    engine.dispose()


def test_the_station_cache_carries_each_sites_kind(tmp_path: Path) -> None:
    """Telemetry tags each point with the kind of site: a care centre has no grade to tell it by."""
    engine = prepare(f"sqlite:///{tmp_path / 'registry.db'}")
    records, problems = parse_station_csv("station_id,name,town,grade,weekdays,hours,kind\n"
                                          "qd-c,汇龙村照料中心,汇龙镇,,1-5,08:30-11:30,care_centre\n")
    assert not problems
    upsert_stations(engine, records)
    cache = StationCache(engine)
    cache.refresh()
    centre, station = cache("qd-c"), cache("qd-a")
    assert centre is not None and (centre.kind, centre.grade) == ("care_centre", None)
    assert station is not None and station.kind == "station"
    engine.dispose()
