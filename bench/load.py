"""Load: N simulated stations for M minutes at realistic rates plus a 10x burst, against one ingester and one worker.

Real Mosquitto, real `eldercare cloud ingest` and `eldercare cloud worker` processes, SQLite (or PostgreSQL with
--postgres). Each station, per minute: one people-flow count, one heartbeat, a face every 2 minutes, a door change
every 10 minutes (the agent's real cadence with a 60 s counter interval); health is retained and rare, left out. A
burst multiplies every rate by 10 for `--burst-s` seconds in the middle of the run. Every 30 s one station's emergency
button is pressed and the time until the alert is listed by the API (`eldercare cloud api`, GET /api/v1/alerts as
a dispatch-centre user) is measured.

Stations share MQTT connections (`--connections`, default 50, each publishing for N/50 stations) so that the
publisher, not the system under test, stays cheap; the broker and ingester see the same topics and payloads.

Reports: event loss (published and PUBACKed vs stored; must be 0), ingest lag (received_at - ts, p50/p99), alert
latency, and the RSS of the ingester and the worker over time. Last line:
`load: ratio=stored/published (target >= 1.0)`.

    .venv/bin/python bench/load.py [--stations 1000] [--minutes 10] [--postgres]
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository root

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select, text

from cloud.registry.csv_rows import StationRecord
from cloud.registry.store import upsert_stations
from cloud.store.db import make_engine
from cloud.store.migrate import upgrade
from cloud.store.models import Event
from firmware_config.schedule import Schedule
from station_protocol import Call, Door, Face, Flow, Heartbeat, encode, new_event_id
from tests.localservices import free_port, run_mosquitto, run_postgres, wait_for_port
from tests.wait import poll

ROOT = Path(__file__).resolve().parents[1]
PER_MINUTE = {"flow": 1.0, "heartbeat": 1.0, "face": 0.5, "door": 0.1}


class StationSim:
    """One station's message builder (seq per device, door toggling)."""

    def __init__(self, station: str) -> None:
        self.station, self.seq, self.door_open = station, 0, False

    def _common(self, device: str) -> dict[str, object]:
        self.seq += 1
        return {"v": 1, "id": uuid.UUID(new_event_id()), "station": self.station, "device": device, "seq": self.seq,
                "ts": datetime.now(UTC)}

    def message(self, kind: str) -> tuple[str, bytes]:
        base = f"eldercare/v1/{self.station}"
        if kind == "flow":
            return f"{base}/flow-1/flow", encode(Flow(period_s=60, in_=random.randint(0, 4), out=random.randint(0, 4),
                                                       **self._common("flow-1")))  # type: ignore[arg-type]
        if kind == "face":
            return f"{base}/cam-1/face", encode(Face(person=f"elder-{random.randint(1, 80):03d}", role="elder",
                                                     distance=0.4, **self._common("cam-1")))  # type: ignore[arg-type]
        if kind == "door":
            self.door_open = not self.door_open
            state = "open" if self.door_open else "closed"
            return f"{base}/door-1/door", encode(Door(state=state, **self._common("door-1")))  # type: ignore[arg-type]
        if kind == "call":
            call = f"c-{uuid.uuid4().hex[:8]}"
            return f"{base}/call-1/call", encode(Call(action="pressed", call=call,
                                                      **self._common("call-1")))  # type: ignore[arg-type]
        beat = Heartbeat(v=1, station=self.station, ts=datetime.now(UTC), version="load", uptime_s=1.0, outbox=0)
        return f"{base}/agent/heartbeat", encode(beat)


class Load:
    """Publishes the stations' messages over shared connections; counts what the broker acknowledged."""

    def __init__(self, port: int, stations: list[str], connections: int) -> None:
        self.sims = [StationSim(s) for s in stations]
        self.groups = [self.sims[i::connections] for i in range(connections)]
        self.clients = []
        self.acked = 0
        self.events = 0  # device events published (heartbeats are not stored as events with a seq)
        self.multiplier = 1.0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        for i in range(connections):
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"load-{i}", protocol=mqtt.MQTTv5)
            client.max_inflight_messages_set(1000)
            client.max_queued_messages_set(0)
            client.on_publish = self._on_publish
            client.connect("127.0.0.1", port)
            client.loop_start()
            self.clients.append(client)

    def _on_publish(self, *_args: object) -> None:
        with self._lock:
            self.acked += 1

    def publish(self, client: mqtt.Client, topic: str, payload: bytes) -> None:
        client.publish(topic, payload, qos=1)
        with self._lock:
            self.events += "/agent/" not in topic

    def run_group(self, index: int) -> None:
        client, sims = self.clients[index], self.groups[index]
        owed = {kind: random.random() * len(sims) for kind in PER_MINUTE}  # stations do not start in step
        last = time.monotonic()
        cursor = dict.fromkeys(PER_MINUTE, 0)
        while not self.stop.wait(0.2):
            now = time.monotonic()
            for kind, per_minute in PER_MINUTE.items():
                owed[kind] += len(sims) * per_minute / 60 * (now - last) * self.multiplier
                while owed[kind] >= 1:
                    owed[kind] -= 1
                    sim = sims[cursor[kind] % len(sims)]
                    cursor[kind] += 1
                    self.publish(client, *sim.message(kind))
            last = now

    def close(self) -> None:
        for client in self.clients:
            client.loop_stop()
            client.disconnect()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def count(engine: Engine, query: object) -> int:
    with engine.connect() as c:
        return int(c.execute(query).scalar_one())  # type: ignore[call-overload]


@contextmanager
def store(postgres: bool, tmp: Path) -> Iterator[str]:
    if postgres:
        with run_postgres() as server:
            yield server.create_database("load")
    else:
        yield f"sqlite:///{tmp / 'load.db'}"


class Api:
    """`eldercare cloud api` as a dispatch-centre user sees it."""

    def __init__(self, base: str) -> None:
        self.base = base
        form = urllib.parse.urlencode({"username": "dispatch", "password": "load-bench-password"}).encode()
        with urllib.request.urlopen(f"{base}/api/v1/auth/token", data=form, timeout=10) as response:
            self.token = json.load(response)["access_token"]

    def calls(self) -> int:
        request = urllib.request.Request(f"{self.base}/api/v1/alerts?kind=emergency_call&limit=1000",
                                         headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return len(json.load(response))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--burst-s", type=float, default=30.0, help="Length of the 10x burst in the middle.")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite.")
    parser.add_argument("--quick", action="store_true", help="a small run for CI (well under a minute)")
    args = parser.parse_args()
    if args.quick:
        args.stations, args.minutes, args.burst_s, args.connections = 100, 0.5, 5.0, 10
    stations = [f"load-{i:04d}" for i in range(args.stations)]
    duration = args.minutes * 60
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="load-")))
        broker = stack.enter_context(run_mosquitto(workdir=tmp))
        url = stack.enter_context(store(args.postgres, tmp))
        engine = make_engine(url)
        upgrade(engine)
        schedule = Schedule(weekdays="1-7", hours="00:00-23:59")
        upsert_stations(engine, [StationRecord(id=s, name=s, town="汇龙镇", grade="3A", schedule=schedule)
                                 for s in stations])
        env = {**os.environ, "ELDERCARE_DATABASE_URL": url, "ELDERCARE_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
               "PYTHONPATH": str(ROOT), "ELDERCARE_SECRET_KEY": uuid.uuid4().hex * 2}
        env.pop("ELDERCARE_INFLUX_URL", None)
        subprocess.run([sys.executable, "-m", "eldercare", "users", "add", "dispatch", "--role", "dispatch"],
                       input=b"load-bench-password\n", env=env, check=True, capture_output=True)
        logs = {name: (tmp / f"{name}.log").open("wb") for name in ("ingest", "worker", "api")}
        cmd = [sys.executable, "-m", "eldercare", "cloud"]
        ingester = subprocess.Popen([*cmd, "ingest", "--client-id", "load-ingest"], env=env, stderr=logs["ingest"])
        worker = subprocess.Popen([*cmd, "worker"], env=env, stderr=logs["worker"])
        api_port = free_port()
        api_process = subprocess.Popen([*cmd, "api", "--port", str(api_port)], env=env, stderr=logs["api"])
        for process in (ingester, worker, api_process):
            stack.callback(process.wait, 30)
            stack.callback(process.terminate)
        def ingesting() -> bool:
            if ingester.poll() is not None:
                raise SystemExit("the ingester did not start:\n" + (tmp / "ingest.log").read_text())
            return b'"msg": "ingesting"' in (tmp / "ingest.log").read_bytes()

        poll(ingesting, timeout=60, interval=0.1,
             what=lambda: "the ingester did not start:\n" + (tmp / "ingest.log").read_text())

        wait_for_port(api_port, timeout=60, process=api_process)
        api = Api(f"http://127.0.0.1:{api_port}")
        load = Load(broker.port, stations, args.connections)
        threads = [threading.Thread(target=load.run_group, args=(i,), daemon=True) for i in range(args.connections)]
        for thread in threads:
            thread.start()
        start = time.monotonic()
        rss: list[tuple[float, float, float]] = []
        alert_latency: list[float] = []
        burst_from = (duration - args.burst_s) / 2
        caller = StationSim("load-0000")
        caller.seq = 10**9  # its own seq range: not mixed with load-0000's other devices
        next_call = 15.0
        while (elapsed := time.monotonic() - start) < duration:
            load.multiplier = 10.0 if burst_from <= elapsed < burst_from + args.burst_s else 1.0
            if elapsed >= next_call:
                next_call += 30
                before = api.calls()
                pressed = time.monotonic()
                load.publish(load.clients[0], *caller.message("call"))
                while api.calls() == before:
                    if time.monotonic() - pressed > 30:
                        break
                    time.sleep(0.01)
                alert_latency.append(time.monotonic() - pressed)
            if not rss or elapsed - rss[-1][0] >= 10:
                rss.append((elapsed, rss_mb(ingester.pid), rss_mb(worker.pid)))
                print(f"{elapsed:5.0f} s  published {load.events:,}  ingest RSS {rss[-1][1]:.0f} MB  "
                      f"worker RSS {rss[-1][2]:.0f} MB{'  (burst)' if load.multiplier > 1 else ''}", file=sys.stderr)
            time.sleep(0.2)
        load.stop.set()
        for thread in threads:
            thread.join()
        published = load.events
        waited = time.monotonic()
        while True:
            stored = count(engine, select(func.count()).select_from(Event).where(Event.seq.is_not(None)))
            if stored >= published or time.monotonic() - waited > 120:
                break
            time.sleep(0.5)
        drain_s = time.monotonic() - waited
        with engine.connect() as c:
            rows = c.execute(select(Event.ts, Event.received_at).where(Event.seq.is_not(None))).all()
            distinct = int(c.execute(text("SELECT count(DISTINCT id) FROM events WHERE seq IS NOT NULL")).scalar_one())
        lags = [(r.received_at.replace(tzinfo=UTC) - r.ts.replace(tzinfo=UTC)).total_seconds() for r in rows]
        load.close()

    third = max(1, len(rss) // 3)
    early = [sum(r[i] for r in rss[:third]) / third for i in (1, 2)]
    late = [sum(r[i] for r in rss[-third:]) / third for i in (1, 2)]
    rate = published / duration
    print(f"stations {args.stations}, {args.minutes:g} min, {'PostgreSQL' if args.postgres else 'SQLite'}, "
          f"{rate:.0f} events/s average, burst x10 for {args.burst_s:g} s")
    print(f"events published {published:,} (PUBACKed {load.acked:,} incl. heartbeats), stored {stored:,} "
          f"(distinct ids {distinct:,}), lost {published - distinct:,}; drained {drain_s:.1f} s after the load")
    print(f"ingest lag (received_at - ts): p50 {percentile(lags, 0.5) * 1000:.0f} ms, "
          f"p99 {percentile(lags, 0.99) * 1000:.0f} ms, max {max(lags, default=0):.2f} s")
    print(f"alert latency (press -> listed by the API), {len(alert_latency)} presses: "
          f"p50 {percentile(alert_latency, 0.5) * 1000:.0f} ms, max {max(alert_latency, default=0) * 1000:.0f} ms")
    print(f"RSS MB first third -> last third: ingester {early[0]:.0f} -> {late[0]:.0f}, "
          f"worker {early[1]:.0f} -> {late[1]:.0f}")
    print(f"load: ratio={distinct / published if published else 0:.4f} (target >= 1.0: stored/published, no loss)")


if __name__ == "__main__":
    main()
