"""The dashboard overview's API calls (GET /overview, /stations, /alerts?active=true) for 1,000 stations.

A real `eldercare cloud api` process serves a SQLite store holding 1,000 stations in 20 towns, each with today's and
this month's derived results (one station derived by the worker's own recompute from protocol events, its rows then
given to the others with varied verdicts) and 3,000 alerts. The client logs in as the bureau administrator (who sees
every station) and loads the page's three calls in turn. Baseline in the same run: GET /healthz (the framework and
one database round trip). Target: the page's calls answer in under 200 ms at the median.
Usage: python bench/api_overview.py [--stations N] [--rounds R]
"""

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud.alerts.kinds import AlertKind
from cloud.api.security import hash_password
from cloud.derive.recompute import recompute_station
from cloud.rules.config import RulesConfig
from cloud.store.db import make_engine, make_session_factory
from cloud.store.derived import DayResult, MonthResult
from cloud.store.migrate import upgrade
from cloud.store.models import Alert, Event, Station
from cloud.store.users import User
from tests.localservices import free_port, wait_for_port

ZONE = ZoneInfo("Asia/Shanghai")
TARGET_MS = 200.0
PASSWORD = "bench-password"


def _events(station: str, now: datetime) -> list[Event]:
    """Today's events so far at one open station: heartbeats, the door, the counter, faces."""
    day = now.date()
    start = datetime.combine(day, clock(8, 0), ZONE)
    out: list[Event] = []

    def add(kind: str, device: str, at: datetime, seq: int, **fields: object) -> None:
        payload = {"v": 1, "station": station, "ts": at.isoformat(), **fields}
        event_id = uuid.uuid4()
        if kind != "heartbeat":
            payload |= {"id": str(event_id), "device": device, "seq": seq}
        out.append(Event(id=event_id, ts=at.astimezone(UTC), station_id=station, device_id=device, kind=kind,
                         local_date=day, seq=None if kind == "heartbeat" else seq, payload=payload))

    at, n = start, 0
    while at <= min(now, datetime.combine(day, clock(17, 30), ZONE)):
        n += 1
        add("heartbeat", "agent", at, n, version="1", uptime_s=n * 300.0, outbox=0)
        add("flow", "counter-1", at, n, period_s=300, **{"in": 2, "out": 2})
        add("face", "camera-1", at + timedelta(seconds=3), n, person=f"e-{n % 40:03d}", role="elder", distance=0.4)
        at += timedelta(minutes=5)
    add("door", "door-1", start + timedelta(minutes=15), 1, state="open")
    return out


def build(url: str, stations: int, seed: int) -> None:
    rng = random.Random(seed)
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(ZONE)
    grades = ["2A", "3A", "4A", "5A"]
    with make_session_factory(engine)() as session:
        session.execute(insert(Station), [
            {"id": f"st-{i:04d}", "name": f"站点{i:04d}", "town": f"镇{i % 20:02d}", "grade": grades[i % 4],
             "address": None, "weekdays": "1-7", "hours": "00:00-23:59", "open_on_holidays": True,
             "timezone": "Asia/Shanghai"} for i in range(stations)])
        session.add(User(name="admin", role="bureau", password_hash=hash_password(PASSWORD)))
        session.add_all(_events("st-0000", now))
        session.commit()
        first = session.get(Station, "st-0000")
        assert first is not None
        recompute_station(session, first, [now.date()], now.date(), RulesConfig(), now.astimezone(UTC))
        session.commit()
        day = session.scalars(select(DayResult).where(DayResult.station_id == "st-0000",
                                                      DayResult.local_date == now.date())).one()
        month = session.scalars(select(MonthResult).where(MonthResult.station_id == "st-0000")).one()
        assert month.threshold is not None  # a graded station's month
        verdicts = ["open", "open", "open", "partial", "closed", "unknown"]
        day_rows, month_rows = [], []
        for i in range(1, stations):
            sid = f"st-{i:04d}"
            verdict = rng.choice(verdicts)
            compliance = {"open": 1.0, "partial": 0.5, "closed": 0.0, "unknown": None}[verdict]
            day_rows.append({"station_id": sid, "local_date": day.local_date, "working_day": True,
                             "verdict": verdict, "compliance": compliance, "person_times": day.person_times,
                             "elders": day.elders, "record": {**day.record, "station": sid, "verdict": verdict},
                             "computed_at": day.computed_at})
            figure = rng.randint(0, 400)
            month_rows.append({"station_id": sid, "month": month.month, "elders": figure,
                               "person_times": month.person_times, "threshold": month.threshold,
                               "met": figure >= month.threshold, "at_risk": figure < month.threshold,
                               "compliance": compliance, "computed_at": month.computed_at,
                               "record": {**month.record, "station": sid, "figure": figure, "elders": figure}})
        session.execute(insert(DayResult), day_rows)
        session.execute(insert(MonthResult), month_rows)
        kinds = [k.value for k in AlertKind]
        session.execute(insert(Alert), [
            {"kind": rng.choice(kinds), "station_id": f"st-{rng.randrange(stations):04d}", "cause_key": f"bench:{i}",
             "status": rng.choice(["raised", "acknowledged", "resolved", "resolved"]), "level": "station",
             "raised_at": datetime.now(UTC) - timedelta(minutes=i), "evidence": {"bench": i}}
            for i in range(3 * stations)])
        session.commit()
    engine.dispose()


def median_ms(client: httpx.Client, paths: list[str], rounds: int) -> tuple[float, float]:
    """Median and 90th percentile, in ms, of loading all `paths` one after the other."""
    for _ in range(3):
        for path in paths:
            client.get(path).raise_for_status()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for path in paths:
            client.get(path).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="a small run for CI (well under a minute)")
    args = parser.parse_args()
    if args.quick:
        args.stations, args.rounds = 200, 10
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        build(url, args.stations, seed=1)
        print(f"store: {args.stations} stations, {3 * args.stations} alerts, built in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        port = free_port()
        env = {**os.environ, "ELDERCARE_DATABASE_URL": url, "ELDERCARE_SECRET_KEY": secrets.token_urlsafe(32)}
        server = subprocess.Popen([sys.executable, "-m", "eldercare", "cloud", "api", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, timeout=30, process=server)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                token = client.post("/api/v1/auth/token", data={"username": "admin", "password": PASSWORD})
                client.headers["Authorization"] = f"Bearer {token.raise_for_status().json()['access_token']}"
                stations = client.get("/api/v1/stations").json()
                assert len(stations) == args.stations, len(stations)
                base, _ = median_ms(client, ["/healthz"], args.rounds)
                page = ["/api/v1/overview", "/api/v1/stations", "/api/v1/alerts?active=true&limit=20"]
                for path in page:
                    single, p90 = median_ms(client, [path], args.rounds)
                    print(f"  {path}: median {single:.1f} ms, p90 {p90:.1f} ms")
                median, p90 = median_ms(client, page, args.rounds)
        finally:
            server.terminate()
            server.wait(10)
    print(f"baseline GET /healthz: median {base:.1f} ms")
    print(f"overview page (3 calls in turn), {args.stations} stations: median {median:.1f} ms, p90 {p90:.1f} ms "
          f"({median / base:.0f}x the /healthz floor)")
    print(f"api_overview: ratio={median / TARGET_MS:.2f} (target <= 1.0 of {TARGET_MS:.0f} ms median)")


if __name__ == "__main__":
    main()
