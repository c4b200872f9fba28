"""Fixtures: a fortnight of two stations' events with known ground truth, files for `cloud derive`, and a migrated
store (SQLite or PostgreSQL) fed through the real ingest path (convert + write_batch)."""

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from cloud.convert import Accepted, StationInfo, convert
from cloud.ingest.writer import write_batch
from cloud.registry.csv_rows import parse_station_csv
from cloud.registry.store import upsert_stations
from cloud.store.db import make_engine
from cloud.store.migrate import upgrade
from tests.rules.scenario import STATION_CSV, StationDay, visits_every

TZ = ZoneInfo("Asia/Shanghai")
ELDERS = ["e-001", "e-002", "e-003", "anon-5c1d", "anon-77aa"]
OPEN = [(time(8, 25), time(11, 35)), (time(13, 25), time(17, 5))]
FIRST, LAST = date(2026, 10, 1), date(2026, 10, 16)
EXCEPTIONS_CSV = "station,date,reason\nqd-b,2026-10-16,renovation approved by the town\n"
# The registry's first version of both stations: the fortnight's first day in Shanghai, never the real today (the
# worker owes a final result for every day from a station's registration on: cloud.derive.catchup).
REGISTERED = datetime(2026, 9, 30, 16, tzinfo=UTC)
CHECKS_CSV = "date,start,end,station\n2026-10-14,09:00,10:00,\n2026-10-15,09:00,10:00,qd-a\n2026-10-13,14:00,15:00,\n"


def _visits(day: date) -> list[tuple[time, str, str]]:
    return (visits_every(time(8, 40), time(11, 20), 15, ELDERS, day=day)
            + visits_every(time(13, 40), time(16, 50), 15, ELDERS, day=day) + [(time(8, 28), "staff-1", "staff")])


def fortnight() -> dict[str, list[StationDay]]:
    """qd-a: open, late, closed, offline hour; National Day off. qd-b: no camera, an excused day."""
    a = [
        StationDay("qd-a", date(2026, 10, 12), door=OPEN, visits=_visits(date(2026, 10, 12)),
                   calls=[(time(10, 0), "c-100", "pressed"), (time(10, 1), "c-100", "cancelled")]),
        StationDay("qd-a", date(2026, 10, 13), door=[(time(9, 20), time(11, 35)), (time(13, 25), time(17, 5))],
                   visits=[v for v in _visits(date(2026, 10, 13))[4:] if v[2] != "staff"]),
        StationDay("qd-a", date(2026, 10, 14)),  # closed, agent online
        StationDay("qd-a", date(2026, 10, 15), door=OPEN, visits=_visits(date(2026, 10, 15)),
                   offline=[(time(9, 0), time(10, 0))]),
        StationDay("qd-a", date(2026, 10, 16), door=OPEN, visits=_visits(date(2026, 10, 16))),
        StationDay("qd-a", date(2026, 10, 1), visits=[(time(9, 0), "e-009", "elder")]),
    ]
    b = [StationDay("qd-b", d, door=OPEN, visits=_visits(d), camera=False)
         for d in (date(2026, 10, 12), date(2026, 10, 13), date(2026, 10, 14), date(2026, 10, 15))]
    b.append(StationDay("qd-b", date(2026, 10, 16)))  # closed but excused
    return {"qd-a": a, "qd-b": b}


def all_messages(seed: int = 7) -> list[tuple[str, bytes]]:
    messages = [m for days in fortnight().values() for sd in days for m in sd.messages()]
    random.Random(seed).shuffle(messages)  # arrival order is not event order
    return messages


@dataclass
class AuditFiles:
    stations: Path
    events: Path
    checks: Path
    exceptions: Path


@pytest.fixture(scope="session")
def messages() -> list[tuple[str, bytes]]:
    return all_messages()


@pytest.fixture
def audit_files(tmp_path: Path, messages: list[tuple[str, bytes]]) -> AuditFiles:
    files = AuditFiles(tmp_path / "stations.csv", tmp_path / "events.jsonl", tmp_path / "checks.csv",
                       tmp_path / "exceptions.csv")
    files.stations.write_text(STATION_CSV, encoding="utf-8")
    files.events.write_text("".join(json.dumps({"topic": t, "payload": json.loads(p)}) + "\n" for t, p in messages),
                            encoding="utf-8")
    files.checks.write_text(CHECKS_CSV, encoding="utf-8")
    files.exceptions.write_text(EXCEPTIONS_CSV, encoding="utf-8")
    return files


@pytest.fixture
def store(db_url: str) -> Iterator[Engine]:
    """A migrated store with the two stations registered, on each dialect."""
    engine = make_engine(db_url)
    upgrade(engine)
    records, problems = parse_station_csv(STATION_CSV)
    assert not problems
    upsert_stations(engine, records, now=REGISTERED)
    yield engine
    engine.dispose()


def lookup(station: str) -> StationInfo | None:
    grades = {"qd-a": "2A", "qd-b": "3A"}
    return StationInfo(station, "town", grades[station], TZ) if station in grades else None


def feed(engine: Engine, messages: list[tuple[str, bytes]], received_at: datetime | None = None) -> int:
    """Store messages through ingest's own conversion and batch writer; returns how many were stored."""
    received = received_at or datetime(2026, 10, 17, tzinfo=UTC)
    stored = 0
    for i in range(0, len(messages), 500):
        batch = []
        for topic, payload in messages[i:i + 500]:
            outcome = convert(topic, payload, received, lookup)
            assert isinstance(outcome, Accepted), outcome
            batch.append((outcome, topic, payload))
        stored += write_batch(engine, batch, [], received).stored
    return stored


def feed_received(engine: Engine, received: list[tuple[str, bytes, datetime]]) -> None:
    """Through ingest's conversion and batch writer, each message with its own time of receipt."""
    for i in range(0, len(received), 200):
        chunk = received[i:i + 200]
        batch = []
        for topic, payload, got in chunk:
            outcome = convert(topic, payload, got.astimezone(UTC), lookup)
            assert isinstance(outcome, Accepted), outcome
            batch.append((outcome, topic, payload))
        write_batch(engine, batch, [], chunk[-1][2].astimezone(UTC))
