"""Fault fixtures: a registered store, real `eldercare edge run` agents reading a simulated Modbus counter over a pty,
a PostgreSQL server the test can stop and start again on the same port, and log parsing."""

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
import yaml
from sqlalchemy import Engine, select

from cloud.registry.csv_rows import StationRecord
from cloud.registry.store import upsert_stations
from cloud.store.db import make_engine
from cloud.store.migrate import upgrade
from cloud.store.models import Event
from firmware_config.schedule import Schedule
from simulators.modbus_counter import ModbusCounterSim, SimCounter
from tests.localservices import _as_postgres_user, _pg_bin, _stop, free_port, wait_for_port
from tests.wait import poll

ROOT = Path(__file__).resolve().parents[2]


def registered_store(url: str, stations: list[str]) -> Engine:
    """A migrated store with `stations` in the registry (unknown stations are dead letters, not events)."""
    engine = make_engine(url)
    upgrade(engine)
    schedule = Schedule(weekdays="1-5", hours="08:30-11:30 13:30-17:00")
    upsert_stations(engine, [StationRecord(id=s, name=f"站 {s}", town="汇龙镇", grade="3A", schedule=schedule)
                             for s in stations])
    return engine


def worker_once(engine: Engine) -> None:
    """`eldercare cloud worker --once` over the store, as a separate process (the deployment's worker)."""
    env = {**os.environ, "ELDERCARE_DATABASE_URL": str(engine.url), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "eldercare", "cloud", "worker", "--once"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]


def stored_keys(engine: Engine) -> list[tuple[str, str, int]]:
    """(station, device, seq) of every stored device event, duplicates included if there were any."""
    with engine.connect() as c:
        rows = c.execute(select(Event.station_id, Event.device_id, Event.seq).where(Event.seq.is_not(None)))
        return [(s, d, int(q)) for s, d, q in rows]


@dataclass
class AgentProcess:
    """`eldercare edge run` for one station whose people counter is simulated on a pty; people keep walking in."""

    station: str
    config: Path
    outbox: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    counter: SimCounter = field(default_factory=lambda: SimCounter(1))

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "eldercare", "edge", "run", "--config", str(self.config)],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT), "ELDERCARE_DEBUG": "1"})

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"agent {self.station} ignored SIGTERM") from None

    def generated(self) -> dict[str, range]:
        """The numbers (`seq`) of the events the agent generated so far per device, read from its outbox: from the
        first (the clock in milliseconds when the device was first heard) to the last handed out."""
        if not self.outbox.exists():
            return {}
        with sqlite3.connect(self.outbox, timeout=5) as db:
            try:
                rows = db.execute("SELECT d.device, s.seq, d.seq FROM device_seq d "
                                  "JOIN device_seq_start s ON s.device = d.device").fetchall()
            except sqlite3.OperationalError:
                return {}
        return {device: range(first, last + 1) for device, first, last in rows}

    def waiting(self) -> int:
        with sqlite3.connect(self.outbox, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def connected_at(self) -> list[datetime]:
        """When the agent's log says it (re)connected to the broker (millisecond timestamps)."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if "mqtt: connected to" in line:
                out.append(datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f"))
        return out

    def refused(self) -> int:
        """How many connection attempts the broker refused so far (each is followed by a longer backoff)."""
        return self.log.read_text(errors="replace").count("Connection refused")


@contextmanager
def agents(stations: list[str], broker_port: int, workdir: Path, interval_s: float = 0.1,
           reconnect: tuple[float, float] = (0.5, 4.0),
           mqtt: dict[str, dict[str, str]] | None = None) -> Iterator[list[AgentProcess]]:
    """Real agents, each with its own simulated counter on a pty and a thread of people walking in; `mqtt` adds
    settings per station (user name, password file)."""
    stop = threading.Event()
    with ExitStack() as stack:
        procs: list[AgentProcess] = []
        for station in stations:
            home = workdir / station
            home.mkdir()
            agent = AgentProcess(station, home / "station.yaml", home / "outbox.sqlite3", home / "agent.log")
            sim = stack.enter_context(ModbusCounterSim([agent.counter], home / "ttyUSB0"))
            agent.config.write_text(yaml.safe_dump({
                "station": station, "name": "故障测试站", "grade": "3A", "town": "汇龙镇", "address": "x",
                "mqtt": {"host": "127.0.0.1", "port": broker_port, "tls": False, "password_env": None,
                         "reconnect_min_s": reconnect[0], "reconnect_max_s": reconnect[1],
                         **(mqtt or {}).get(station, {})},
                "agent": {"outbox": str(agent.outbox), "clock_check": "year"},
                # The walker below adds a person every 20 ms (3,000 a minute): the file says so, or gains across an
                # agent's restart would be doubted and not counted.
                "devices": [{"type": "counter", "id": "flow-1", "port": str(sim.port), "unit": 1,
                             "interval_s": interval_s, "timeout_s": 0.5, "max_per_min": 6000}],
            }, allow_unicode=True))
            procs.append(agent)

        def walk() -> None:
            while not stop.wait(0.02):
                for agent in procs:
                    agent.counter.add(1, 0)

        walker = threading.Thread(target=walk, daemon=True)
        walker.start()
        for agent in procs:
            agent.start()
        try:
            yield procs
        finally:
            stop.set()
            walker.join()
            for agent in procs:
                agent.stop()


class PgServer:
    """A PostgreSQL cluster the test stops (the database "goes away") and starts again on the same port and data."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.datadir = root / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        self.datadir.mkdir()
        if os.geteuid() == 0:
            import shutil

            shutil.chown(self.root, "postgres")
            shutil.chown(self.datadir, "postgres")
        subprocess.run(_as_postgres_user([_pg_bin("initdb"), "-D", str(self.datadir), "-U", "postgres", "-A", "trust",
                                          "-E", "UTF8", "--no-sync"]), check=True, capture_output=True)

    def start(self) -> None:
        self.process = subprocess.Popen(
            _as_postgres_user([_pg_bin("postgres"), "-D", str(self.datadir), "-p", str(self.port), "-h", "127.0.0.1",
                               "-k", str(self.root), "-c", "fsync=off"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, timeout=30, process=self.process)
        poll(self._accepts, 30, "PostgreSQL accepting connections")

    def _accepts(self) -> bool:
        """A session can start: the port opens before recovery ends ("the database system is starting up")."""
        try:
            psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                            connect_timeout=5).close()
        except psycopg.OperationalError:
            return False
        return True

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


@contextmanager
def pg_server() -> Iterator[PgServer]:
    with tempfile.TemporaryDirectory(prefix="pg-fault-") as tmp:
        server = PgServer(Path(tmp))
        server.init()
        server.start()
        try:
            yield server
        finally:
            server.stop()



@dataclass
class IngestProcess:
    """`eldercare cloud ingest` as a real process, its JSON log in a file the test can read at any time."""

    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_logged(self, needle: str, timeout: float = 60.0) -> None:
        def logged() -> bool:
            if self.process.poll() is not None and needle not in self.text():
                raise AssertionError(f"ingester exited ({self.process.returncode}): {self.text()[-3000:]}")
            return needle in self.text()

        poll(logged, timeout, lambda: f"ingester never logged {needle!r}: {self.text()[-3000:]}")

    def terminate(self, timeout: float = 90.0) -> str:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout)
        return self.text()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@contextmanager
def ingester(broker_port: int, url: str, client_id: str, log: Path, *args: str,
             env: dict[str, str] | None = None) -> Iterator[IngestProcess]:
    """Start `eldercare cloud ingest` (extra environment: an InfluxDB URL, credentials), wait until it ingests, and
    make sure it does not outlive the test."""
    full = {**os.environ, "ELDERCARE_DATABASE_URL": url, "ELDERCARE_MQTT_URL": f"mqtt://127.0.0.1:{broker_port}",
            "PYTHONPATH": str(ROOT), **(env or {})}
    if "ELDERCARE_INFLUX_URL" not in (env or {}):
        full.pop("ELDERCARE_INFLUX_URL", None)
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "eldercare", "cloud", "ingest", "--client-id", client_id,
                                    "--batch-ms", "50", *args], env=full, stdout=subprocess.DEVNULL, stderr=out,
                                   cwd=ROOT)
    proc = IngestProcess(process, log)
    try:
        proc.wait_logged('"msg": "ingesting"')
        yield proc
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def missing_summary(expected: set[tuple[str, str, int]], got: set[tuple[str, str, int]]) -> str:
    """Which (station, device) lost which seqs, for an assertion message."""
    lost: dict[tuple[str, str], list[int]] = {}
    for station, device, seq in sorted(expected - got):
        lost.setdefault((station, device), []).append(seq)
    extra = len(got - expected)
    parts = [f"{s}/{d}: {len(seqs)} missing, seq {seqs[0]}..{seqs[-1]}" for (s, d), seqs in list(lost.items())[:12]]
    return f"{sum(map(len, lost.values()))} missing in {len(lost)} devices, {extra} unexpected; " + "; ".join(parts)


def wait_for_all(engine: Engine, expected: set[tuple[str, str, int]], timeout: float = 60.0) -> list[
        tuple[str, str, int]]:
    """Wait until every expected event is stored; fail naming what is missing."""
    keys: list[tuple[str, str, int]] = []

    def complete() -> bool:
        nonlocal keys
        keys = stored_keys(engine)
        return expected <= set(keys)

    poll(complete, timeout, lambda: missing_summary(expected, set(keys)), interval=0.2)
    return keys
