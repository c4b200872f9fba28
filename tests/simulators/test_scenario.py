"""The station-day scenario: pure, consistent with its ground truth, valid protocol, and publishable."""

import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from firmware_config.load import load_station
from simulators.commands import station
from simulators.day_events import station_day
from simulators.scenario import plan_day
from station_protocol import Call, Door, Face, Flow, decode
from tests.edge.conftest import mock_pins, subscribe
from tests.localservices import Mosquitto

__all__ = ["mock_pins"]  # the fixture, shared with tests/edge

EXAMPLES = Path(__file__).resolve().parents[2] / "firmware_config" / "examples"
MONDAY = date(2026, 10, 12)


def test_same_seed_same_day_other_seed_other_day() -> None:
    config = load_station(EXAMPLES / "qd-lvsi-02.yaml")
    assert station_day(config, MONDAY, 1) == station_day(config, MONDAY, 1)
    assert station_day(config, MONDAY, 1)[0].visits != station_day(config, MONDAY, 2)[0].visits


def test_events_match_the_ground_truth() -> None:
    config = load_station(EXAMPLES / "qd-lvsi-02.yaml")
    for seed in range(5):
        truth, events = station_day(config, MONDAY, seed)
        decoded = [decode(e.topic, e.payload, now=e.at) for e in events]
        assert all(d.clock_fault is None for d in decoded)
        seqs: dict[str, list[int]] = defaultdict(list)
        for d in decoded:
            seqs[d.topic.device].append(d.message.seq)  # type: ignore[union-attr]
        assert all(s == sorted(set(s)) for s in seqs.values())
        flows = [d.message for d in decoded if isinstance(d.message, Flow)]
        assert sum(f.in_ for f in flows) == sum(f.out for f in flows) == len(truth.visits)
        doors = [(d.message.ts, d.message.state) for d in decoded
                 if isinstance(d.message, Door) and d.message.device == "door-main"]
        opens = [ts for ts, state in doors if state == "open"]
        assert opens == [start for start, _ in truth.open_intervals]
        faces = [d.message for d in decoded if isinstance(d.message, Face)]
        assert len(faces) == len(truth.visits)
        assert {f.person for f in faces if f.role == "elder"} == {v.person for v in truth.visits
                                                                   if v.role == "elder" and v.enrolled}
        assert all(f.person.startswith("anon-") for f in faces if f.role == "unknown")
        calls = [d.message for d in decoded if isinstance(d.message, Call)]
        assert [c.call for c in calls if c.action == "pressed"] == [p.call for p in truth.presses]
        # Staff are in before the first elder; elders come only while the station is open (not at lunch).
        first_elder = min(v.arrive for v in truth.visits if v.role == "elder")
        assert min(v.arrive for v in truth.visits if v.role == "staff") < first_elder
        assert truth.lunch_break is not None
        assert all(any(a <= v.arrive and v.leave <= b for a, b in truth.open_intervals)
                   for v in truth.visits if v.role == "elder")
        json.dumps(truth.to_json())


def test_a_late_opening_and_a_day_off_happen() -> None:
    config = load_station(EXAMPLES / "qd-huilong-01.yaml")  # Monday to Saturday
    truths = [station_day(config, MONDAY, seed)[0] for seed in range(20)]
    late = [t for t in truths if t.late_opening_min]
    assert late and all(t.open_intervals[0][0] - t.scheduled[0][0] == timedelta(minutes=t.late_opening_min)
                        for t in late)
    sunday, events = station_day(config, MONDAY + timedelta(days=6), 0)
    assert not sunday.working_day and not sunday.visits
    assert not [e for e in events if e.topic.endswith("/door") and b'"open"' in e.payload]
    assert 15 <= len(truths[0].elders) <= 30  # a 3A station's day


def test_simulate_station_publishes_the_day(mosquitto: Mosquitto, tmp_path: Path) -> None:
    config = load_station(EXAMPLES / "qd-nanyang-07.yaml")
    _, events = station_day(config, MONDAY, 3)
    subscriber = subscribe(mosquitto, "eldercare/v1/qd-nanyang-07/#")
    truth_file = tmp_path / "truth.json"
    result = CliRunner().invoke(station, [
        "--config", str(EXAMPLES / "qd-nanyang-07.yaml"), "--date", "2026-10-12", "--seed", "3", "--speed", "0",
        "--broker", f"127.0.0.1:{mosquitto.port}", "--truth", str(truth_file)])
    assert result.exit_code == 0, result.output
    subscriber.wait_for(lambda m: len(m) >= len(events))
    assert sorted(m.payload for m in subscriber.messages) == sorted(e.payload for e in events)
    assert json.loads(truth_file.read_text())["station"] == "qd-nanyang-07"
    subscriber.client.loop_stop()


def test_hardware_mode_drives_the_real_agent(mosquitto: Mosquitto, mock_pins: Any, tmp_path: Path) -> None:
    config = load_station(EXAMPLES / "qd-huilong-01.yaml")
    truth = plan_day(config, MONDAY, 4)
    opened = truth.open_intervals[0][0]
    start, end = opened - timedelta(minutes=5), opened + timedelta(minutes=40)
    arrivals = sum(start <= v.arrive < end for v in truth.visits)
    leaves = sum(start <= v.leave < end for v in truth.visits)
    assert arrivals > 0
    subscriber = subscribe(mosquitto, "eldercare/v1/qd-huilong-01/#")
    played = tmp_path / "played.json"
    result = CliRunner().invoke(station, [
        "--config", str(EXAMPLES / "qd-huilong-01.yaml"), "--date", "2026-10-12", "--seed", "4", "--speed", "900",
        "--start", f"{start:%H:%M}", "--end", f"{end:%H:%M}", "--hardware",
        "--broker", f"127.0.0.1:{mosquitto.port}", "--truth", str(played)])
    assert result.exit_code == 0, result.output
    flows = [d.message for d in subscriber_messages(subscriber, "flow")]
    assert (sum(f.in_ for f in flows), sum(f.out for f in flows)) == (arrivals, leaves)
    doors = [d.message.state for d in subscriber_messages(subscriber, "door")]
    assert doors[-1] == "open" and "closed" in doors
    facts = json.loads(played.read_text())
    assert len(facts["visits"]) == arrivals
    subscriber.client.loop_stop()


def subscriber_messages(subscriber: Any, kind: str) -> list[Any]:
    with subscriber.lock:
        return [decode(m.topic, m.payload) for m in subscriber.messages if m.topic.endswith(f"/{kind}")]
