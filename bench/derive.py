"""Recompute one month of derived results over the store, against merely reading the same events from it.

Builds a SQLite store (or uses --database-url) with N stations × one month of events (several hundred per
station-day: counts every 2 minutes in opening hours, heartbeats, door, faces), marks every station-day dirty, then
times (a) reading each station's month of events with the worker's own query and (b) one worker pass that recomputes
every day, month and alert from them. The ratio b / a says what the rules cost on top of the I/O they need.

Usage: python bench/derive.py [--stations 100] [--days 31] [--database-url URL]
       python bench/derive.py --stations 1000      # the full size: a county's 1,000 stations
"""

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, insert, select

from cloud.derive.runner import Partition, run_pass
from cloud.rules.config import RulesConfig
from cloud.store.db import make_engine, make_session_factory
from cloud.store.derived import DayResult
from cloud.store.migrate import upgrade
from cloud.store.models import DirtyStationDay, Event, Station

TZ = ZoneInfo("Asia/Shanghai")
FIRST = date(2026, 10, 1)


def uuid7_at(when: datetime, rnd: random.Random) -> uuid.UUID:
    """A UUIDv7 (the protocol's recommendation) for `when`: ids sort by time, as a real fleet's do."""
    value = (int(when.timestamp() * 1000) & ((1 << 48) - 1)) << 80
    return uuid.UUID(int=value | 0x7 << 76 | rnd.getrandbits(12) << 64 | 0b10 << 62 | rnd.getrandbits(62))


def station_day(station: str, day: date, rnd: random.Random, seq: list[int]) -> list[dict[str, object]]:
    """One station-day of stored events (the payloads as ingest keeps them)."""
    rows: list[dict[str, object]] = []
    midnight = datetime(day.year, day.month, day.day, tzinfo=TZ)

    def add(kind: str, device: str, ts: datetime, payload: dict[str, object]) -> None:
        seq[0] += 1
        event_id = uuid7_at(ts, rnd)
        rows.append({"id": event_id, "ts": ts, "station_id": station, "device_id": device, "kind": kind,
                     "local_date": day, "seq": seq[0], "received_at": ts, "clock_fault": None,
                     "payload": {"v": 1, "id": str(event_id), "station": station, "device": device, "seq": seq[0],
                                 "ts": ts.isoformat(), **payload}})

    for minute in range(0, 24 * 60, 10):
        ts = midnight + timedelta(minutes=minute)
        rows.append({"id": uuid7_at(ts, rnd), "ts": ts, "station_id": station,
                     "device_id": "agent", "kind": "heartbeat", "local_date": day, "seq": None, "received_at": ts,
                     "clock_fault": None, "payload": {"v": 1, "station": station, "ts": ts.isoformat(),
                                                      "version": "1.0", "uptime_s": 1.0, "outbox": 0}})
    if day.isoweekday() >= 6:
        return rows
    opens = 8 * 60 + 20 + rnd.randint(-10, 40)
    for s, e in ((opens, 11 * 60 + 35), (13 * 60 + 25, 17 * 60 + 5)):
        add("door", "door-1", midnight + timedelta(minutes=s), {"state": "open"})
        add("door", "door-1", midnight + timedelta(minutes=e), {"state": "closed"})
    for minute in range(8 * 60, 17 * 60 + 30, 2):
        inside = opens < minute <= 11 * 60 + 35 or 13 * 60 + 25 < minute <= 17 * 60 + 5  # people come while open
        moves = (rnd.choice((0, 0, 0, 1, 2)), rnd.choice((0, 0, 0, 1, 2))) if inside else (0, 0)
        add("flow", "counter-1", midnight + timedelta(minutes=minute), {"period_s": 120, "in": moves[0],
                                                                       "out": moves[1]})
    for _ in range(30):
        minute = rnd.randint(opens, 17 * 60)
        person = rnd.choice([f"e-{i:03d}" for i in range(60)] + ["anon-1", "anon-2", "staff-1"])
        add("face", "cam-1", midnight + timedelta(minutes=minute, seconds=rnd.randint(0, 59)),
            {"person": person, "role": "staff" if person.startswith("staff") else "elder", "distance": 0.4})
    add("health", "counter-1", midnight + timedelta(hours=6), {"ok": True})
    return rows


COLUMNS = ("id", "ts", "station_id", "device_id", "kind", "local_date", "seq", "received_at", "clock_fault", "payload")
RAW_INSERT = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def _sqlite(column: str, value: object) -> object:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if column == "payload":
        return json.dumps(value)
    return value


def build(engine: Engine, stations: int, days: int) -> int:
    upgrade(engine)
    rnd = random.Random(1)
    ids = [f"bench-{i:04d}" for i in range(stations)]
    with engine.begin() as conn:
        conn.execute(insert(Station), [{"id": s, "name": s, "town": f"town-{i % 10}", "grade": "3A",
                                        "weekdays": "1,2,3,4,5", "hours": "08:30-11:30 13:30-17:00",
                                        "open_on_holidays": False, "timezone": "Asia/Shanghai"}
                                       for i, s in enumerate(ids)])
    total = 0
    seqs = {station: [0] for station in ids}
    # Day by day for the whole fleet, as a real fleet's events arrive (UUIDv7 keys then grow in time order).
    for d in range(days):
        day = FIRST + timedelta(days=d)
        for chunk in range(0, stations, 50):
            rows = [r for station in ids[chunk:chunk + 50] for r in station_day(station, day, rnd, seqs[station])]
            with engine.begin() as conn:
                if engine.dialect.name == "sqlite":
                    # Build-time shortcut: rows in SQLAlchemy's SQLite storage format, without per-row processing.
                    conn.exec_driver_sql(RAW_INSERT, [tuple(_sqlite(c, r[c]) for c in COLUMNS) for r in rows])
                else:
                    conn.execute(insert(Event), rows)
            total += len(rows)
        with engine.begin() as conn:
            conn.execute(insert(DirtyStationDay), [{"station_id": s, "local_date": day, "generation": 1} for s in ids])
        print(f"  built day {d + 1}/{days}: {total:,} events", file=sys.stderr, flush=True)
    return total


def read_all(engine: Engine, stations: list[str], days: int) -> int:
    """The baseline: the worker's own query for each station's month of events, every row fetched."""
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=TZ) - timedelta(days=1)
    end = start + timedelta(days=days + 1)
    n = 0
    with make_session_factory(engine)() as session:
        for station in stations:
            rows = session.execute(
                select(Event.ts, Event.kind, Event.device_id, Event.id, Event.payload, Event.clock_fault,
                       Event.local_date)
                .where(Event.station_id == station, Event.ts >= start.astimezone(UTC), Event.ts < end.astimezone(UTC))
                .order_by(Event.ts, Event.id)).all()
            n += len(rows)
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=100, help="1000 for the full size (a county's stations)")
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temporary directory)")
    parser.add_argument("--quick", action="store_true", help="a small run for CI (well under a minute)")
    args = parser.parse_args()
    if args.quick:
        args.stations, args.days = 10, 7
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        started = time.perf_counter()
        events = build(engine, args.stations, args.days)
        print(f"store: {events:,} events, {args.stations} stations x {args.days} days "
              f"({events / args.stations / args.days:.0f} per station-day), built in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        with make_session_factory(engine)() as session:
            stations = sorted(session.scalars(select(Station.id)))
        read_all(engine, stations, args.days)  # warm the cache: both timings below read a warm store

        t0 = time.perf_counter()
        read = read_all(engine, stations, args.days)
        read_s = time.perf_counter() - t0

        last = FIRST + timedelta(days=args.days - 1)
        now = datetime(last.year, last.month, last.day, 23, 30, tzinfo=TZ)
        t0 = time.perf_counter()
        stats = run_pass(make_session_factory(engine), Partition(), RulesConfig(), now)
        derive_s = time.perf_counter() - t0

        with make_session_factory(engine)() as session:
            derived = len(session.scalars(select(DayResult.station_id)).all())
        engine.dispose()
    if stats.errors or derived != args.stations * args.days:
        raise SystemExit(f"derive failed: {stats.errors} errors, {derived} day results: {stats.messages[:1]}")
    print(f"read:   {read:,} events in {read_s:.2f} s ({read / read_s:,.0f} events/s)")
    print(f"derive: {stats.days:,} station-days of {stats.stations} stations in {derive_s:.2f} s "
          f"({read / derive_s:,.0f} events/s, {derive_s / stats.days * 1000:.2f} ms per station-day)")
    print(f"derive: ratio={derive_s / read_s:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
