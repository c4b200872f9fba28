"""The worker over a real store (SQLite and PostgreSQL), fed through ingest in the order things happen: a station's
Monday, heard live and derived that evening; its agent stopped overnight while the Pi's clock is put back an hour;
Tuesday's heartbeats, of the same boot, show the step against Monday's last. Nothing of Monday arrives on Tuesday, so
no event marks Monday again: the worker finds the step when it derives Tuesday, reads Monday's last heartbeat from
outside what it loads, and derives Monday again. The evidence download of Monday alone carries Tuesday's first
heartbeat, and gives `cloud derive` the same day."""

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from cloud.api.routes.evidence import events_queries, full_edges, stream_events
from cloud.derive.runner import Partition, run_pass
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult
from cloud.store.models import Alert, Station
from eldercare.cli import cli
from station_protocol import Heartbeat, encode
from station_protocol.topics import agent_topic
from tests.derive.conftest import feed_received
from tests.rules.scenario import STATION_CSV, StationDay

CONFIG = RulesConfig()
TZ = ZoneInfo("Asia/Shanghai")
MONDAY, TUESDAY = date(2026, 10, 12), date(2026, 10, 13)
BOOT = UUID("0f5c2a31-6a4e-4b1e-9d7c-1a2b3c4d5e6f")
BOOTED = datetime(2026, 10, 10, 6, 0, tzinfo=TZ)


def at(day: date, t: time) -> datetime:
    return datetime.combine(day, t, TZ)


def beats(start: datetime, end: datetime, shift: timedelta) -> list[tuple[str, bytes, datetime]]:
    """Heartbeats of one boot every minute (13 s past it) of real time from `start` to `end`, stamped `shift` off
    it, each received a second after it was made."""
    out, real = [], start + timedelta(seconds=13)
    while real < end:
        beat = Heartbeat(v=1, station="qd-a", ts=real + shift, version="1", uptime_s=1.0, outbox=0, boot=BOOT,
                         boot_s=(real - BOOTED).total_seconds())
        out.append((str(agent_topic("qd-a", "heartbeat")), encode(beat), real + timedelta(seconds=1)))
        real += timedelta(minutes=1)
    return out


def record(engine: Engine, day: date) -> dict[str, Any]:
    with make_session_factory(engine)() as session:
        row = session.scalars(select(DayResult).where(DayResult.station_id == "qd-a", DayResult.local_date == day))
        return dict(row.one().record)


def monday_messages() -> list[tuple[str, bytes, datetime]]:
    """Monday open on time, heard live; its agent stopped at 22:00."""
    sd = StationDay("qd-a", MONDAY, door=[(time(8, 25), time(11, 35)), (time(13, 25), time(17, 5))])
    readings = [(t, p, datetime.fromisoformat(json.loads(p)["ts"]) + timedelta(seconds=1)) for t, p in sd.messages()
                if not t.endswith("/heartbeat")]
    return sorted([*readings, *beats(at(MONDAY, time(6)), at(MONDAY, time(22)), timedelta(0))], key=lambda m: m[2])


@pytest.mark.parametrize("back", [timedelta(hours=1), timedelta(0)])
def test_a_step_against_the_day_befores_last_heartbeat_rederives_it_and_the_audit_agrees(
        store: Engine, tmp_path: Path, back: timedelta) -> None:
    factory = make_session_factory(store)
    feed_received(store, monday_messages())
    assert run_pass(factory, Partition(), CONFIG, at(MONDAY, time(23)).astimezone(UTC)).errors == 0
    assert "clock_stepped" not in record(store, MONDAY)["flags"]
    # Tuesday from 07:00 (real), the clock put back `back` overnight while the agent was stopped.
    feed_received(store, beats(at(TUESDAY, time(7)), at(TUESDAY, time(12)), -back))
    assert run_pass(factory, Partition(), CONFIG, at(TUESDAY, time(13)).astimezone(UTC)).errors == 0
    monday, tuesday = record(store, MONDAY), record(store, TUESDAY)
    stepped = back > timedelta(0)
    assert ("clock_stepped" in monday["flags"], "clock_stepped" in tuesday["flags"]) == (stepped, stepped)
    assert monday["clock_stepped_minutes"] == (60.0 if stepped else None)
    assert monday["verdict"] == ("unknown" if stepped else "open")
    with factory() as session:
        alerts = {a.cause_key for a in session.scalars(select(Alert))}
    assert (f"anomaly:clock-stepped:qd-a:{MONDAY}" in alerts) == stepped

    # The auditor downloads Monday's evidence and derives Monday alone.
    with factory() as session:
        station = session.get(Station, "qd-a")
        assert station is not None
        queries = events_queries(station, MONDAY, MONDAY, CONFIG)
        edges = full_edges(station, MONDAY, MONDAY, CONFIG)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(stream_events(factory, "qd-a", queries, CONFIG, edges)))
    tuesdays = [json.loads(line)["payload"] for line in events.read_text(encoding="utf-8").splitlines()
                if json.loads(line)["payload"]["ts"] >= at(TUESDAY, time(0)).isoformat()]
    assert len(tuesdays) == 1 and tuesdays[0]["boot"] == str(BOOT)  # Tuesday's first heartbeat, nothing else of it
    (tmp_path / "stations.csv").write_text(STATION_CSV, encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "cloud", "derive", "--stations", str(tmp_path / "stations.csv"), "--events", str(events),
        "--from", MONDAY.isoformat(), "--to", MONDAY.isoformat()], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    [derived] = [ln for ln in map(json.loads, result.stdout.splitlines())
                 if ln["type"] == "day" and ln["station"] == "qd-a"]
    assert derived == monday
