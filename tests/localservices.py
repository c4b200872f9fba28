"""Real local services as child processes on free 127.0.0.1 ports, for the tests and the benchmarks: Mosquitto,
PostgreSQL, VictoriaMetrics, Prometheus, Alertmanager.

Each launcher is a context manager that waits until the service answers and stops it, whatever happens. The port
helpers and Mosquitto's configuration are the production ones `eldercare serve` uses.
"""

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from eldercare.mosquitto import mosquitto_config, mosquitto_path
from eldercare.ports import free_port, wait_for_port
from tests.wait import poll

__all__ = [
    "Alertmanager", "Mosquitto", "Postgres", "Prometheus", "VictoriaMetrics", "free_port", "mosquitto_config",
    "mosquitto_path", "postgres_available", "run_alertmanager", "run_mosquitto", "run_postgres", "run_prometheus",
    "run_victoria_metrics", "wait_for_port",
]


def _stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Mosquitto:
    """A running Mosquitto; `restart()` keeps its port and persistence (for outage tests)."""

    port: int
    config: Path
    process: subprocess.Popen[bytes]
    log: Path
    host: str = "127.0.0.1"

    def stop(self) -> None:
        _stop(self.process)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def start(self) -> None:
        binary = mosquitto_path()
        assert binary is not None
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([binary, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, process=self.process)

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def run_mosquitto(extra_config: str = "", anonymous: bool = True, workdir: Path | None = None) -> Iterator[Mosquitto]:
    """Start Mosquitto on a free port; `extra_config` is appended (password_file, acl_file, TLS listener…)."""
    binary = mosquitto_path()
    if binary is None:
        raise RuntimeError("mosquitto is not installed (Debian: apt-get install mosquitto)")
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mosquitto-")))
        port = free_port()
        config = workdir / "mosquitto.conf"
        config.write_text(mosquitto_config(port, workdir, extra_config, anonymous))
        log = workdir / "mosquitto.log"
        broker = Mosquitto(port=port, config=config, process=None, log=log)  # type: ignore[arg-type]
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian: apt-get install postgresql)")
    return path


def postgres_available() -> bool:
    try:
        _pg_bin("initdb")
    except RuntimeError:
        return False
    return True


@dataclass
class Postgres:
    """A throw-away PostgreSQL cluster; `url` is a SQLAlchemy URL for its `postgres` database."""

    port: int
    datadir: Path
    process: subprocess.Popen[bytes]
    user: str = "postgres"
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str) -> str:
        """Create a fresh database and return its SQLAlchemy URL."""
        subprocess.run(
            [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name],
            check=True, capture_output=True,
        )
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _accepts_sessions(port: int, process: subprocess.Popen[bytes]) -> bool:
    """PostgreSQL listens before it takes sessions ("the database system is starting up"): try one."""
    import psycopg

    if process.poll() is not None:
        raise RuntimeError(f"PostgreSQL exited with status {process.returncode} while starting")
    try:
        psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", connect_timeout=2).close()
    except psycopg.OperationalError:
        return False
    return True


@contextlib.contextmanager
def run_postgres() -> Iterator[Postgres]:
    """initdb a new cluster in a temporary directory and run it on a free port, trusting local connections."""
    with tempfile.TemporaryDirectory(prefix="pg-") as tmp:
        datadir = Path(tmp) / "data"
        datadir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(tmp, "postgres")
            shutil.chown(datadir, "postgres")
        subprocess.run(
            _as_postgres_user([_pg_bin("initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                               "--no-sync"]),
            check=True, capture_output=True,
        )
        port = free_port()
        process = subprocess.Popen(
            _as_postgres_user([_pg_bin("postgres"), "-D", str(datadir), "-p", str(port), "-h", "127.0.0.1",
                               "-k", tmp, "-c", "fsync=off", "-c", "max_connections=200"]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, timeout=30, process=process)
            poll(lambda: _accepts_sessions(port, process), timeout=30, what=f"PostgreSQL on {port} accepting sessions")
            yield Postgres(port=port, datadir=datadir, process=process)
        finally:
            _stop(process)


@dataclass
class VictoriaMetrics:
    """VictoriaMetrics: speaks InfluxDB's v2 write API at /api/v2/write and exports at /api/v1/export."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        _stop(self.process)


@contextlib.contextmanager
def run_victoria_metrics(port: int | None = None) -> Iterator[VictoriaMetrics]:
    """Start a single-node VictoriaMetrics on `port` (default: a free one) with its data in a temporary directory."""
    binary = shutil.which("victoria-metrics")
    if binary is None:
        raise RuntimeError("victoria-metrics is not installed (Debian: apt-get install victoria-metrics)")
    with tempfile.TemporaryDirectory(prefix="vm-") as tmp:
        port = port or free_port()
        process = subprocess.Popen(
            [binary, f"-storageDataPath={tmp}", f"-httpListenAddr=127.0.0.1:{port}", "-search.latencyOffset=0s"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, process=process)
            yield VictoriaMetrics(port=port, process=process)
        finally:
            _stop(process)


@dataclass
class PrometheusServer:
    """A running Prometheus or Alertmanager (Debian `prometheus`, `prometheus-alertmanager`); `url` is its HTTP base
    (Alertmanager's API under /api/v2)."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


Prometheus = PrometheusServer
Alertmanager = PrometheusServer


def _ready(url: str, process: subprocess.Popen[bytes], log: Path, name: str) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"{name} exited with status {process.returncode}: {log.read_text(errors='replace')}")
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def _run_server(name: str, binary: str, args: Callable[[str, int], list[str]]) -> Iterator[PrometheusServer]:
    """Start `binary` with `args(tmp, port)` on a free port (its data under the temporary directory `tmp`), its log
    beside it; wait until its /-/ready answers, stop it after."""
    with tempfile.TemporaryDirectory(prefix=f"{name.lower()}-") as tmp:
        port = free_port()
        log = Path(tmp) / f"{name.lower()}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([binary, *args(tmp, port)], stdout=out, stderr=subprocess.STDOUT)
        server = PrometheusServer(port=port, process=process, log=log)
        try:
            poll(lambda: _ready(server.url, process, log, name), timeout=60, what=f"{name} on {port} ready")
            yield server
        finally:
            _stop(process)


@contextlib.contextmanager
def run_prometheus(config: Path, *flags: str) -> Iterator[Prometheus]:
    """Start Prometheus with `config` (its rule files named relative to it) and any further `flags` on a free port, its
    data in a temporary directory; wait until it is ready."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("prometheus is not installed (Debian: apt-get install prometheus)")
    with _run_server("Prometheus", binary, lambda tmp, port: [
            f"--config.file={config}", f"--storage.tsdb.path={tmp}/data",
            f"--web.listen-address=127.0.0.1:{port}", *flags]) as prometheus:
        yield prometheus


@contextlib.contextmanager
def run_alertmanager(config: Path) -> Iterator[Alertmanager]:
    """Start Alertmanager with `config` on a free port, alone (no cluster), its silences and notification log in a
    temporary directory; wait until it is ready."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        raise RuntimeError("alertmanager is not installed (Debian: apt-get install prometheus-alertmanager)")
    with _run_server("Alertmanager", binary, lambda tmp, port: [
            f"--config.file={config}", f"--storage.path={tmp}/data", f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address="]) as alertmanager:
        yield alertmanager
