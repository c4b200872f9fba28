"""`eldercare serve`: the whole platform on one machine — broker, ingester, worker, command sender, API and
dashboard — on SQLite.

Mosquitto (MQTT v5, shared subscription) when it is installed, else the embedded pure-Python broker (MQTT 3.1.1,
one ingester on a plain subscription). Either broker takes only the users in DATA_DIR/broker (written by
`eldercare cloud provision`, re-read within seconds when it changes), unless --allow-anonymous on loopback. The API
signs its tokens with a random key kept in DATA_DIR/secret_key. Ctrl-C or SIGTERM stops the API, the command sender
and the worker first, then the ingester (which commits and acknowledges what it holds), then the broker: nothing is
lost.
"""

import ipaddress
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import click

from cloud.provision.broker_files import INGESTER, LISTENER_FILE, WORKER, ensure_service_users
from cloud.secret_file import ensure_secret_key
from cloud.store.options import data_dir_option, settings_for
from eldercare.datalock import DataDirInUse, lock_data_dir
from eldercare.mosquitto import mosquitto_config, mosquitto_path
from eldercare.ports import port_problem
from eldercare.supervisor import Child, Supervisor, child_env, eldercare

ANONYMOUS_WARNING = ("warning: --allow-anonymous: the broker takes clients without a password; any program on this "
                     "machine can read every station's messages and publish as any station")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    mqtt_port: int
    data_dir: Path
    stations: Path | None
    worker_args: tuple[str, ...] = ()
    broker: str = "auto"
    allow_anonymous: bool = False

    @property
    def access_dir(self) -> Path:
        """Where `eldercare cloud provision` keeps credentials, passwd and acl for this data directory."""
        return self.data_dir / "broker"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def anonymous_problem(host: str, allow_anonymous: bool) -> str | None:
    """Why this combination is refused: anonymous clients on a network address could read and command stations."""
    if allow_anonymous and not is_loopback(host):
        return (f"--allow-anonymous only with a loopback --host (127.0.0.1 or ::1), not {host}: anyone on the "
                "network could read every station's messages and publish commands to them")
    return None


def _broker(options: ServeOptions) -> tuple[Child, str]:
    """The broker child and the MQTT protocol version the ingester must speak to it."""
    binary = mosquitto_path() if options.broker in ("auto", "mosquitto") else None
    if options.broker == "mosquitto" and binary is None:
        raise RuntimeError("--broker mosquitto: mosquitto is not installed (Debian: apt-get install mosquitto)")
    passwd, acl = options.access_dir / "passwd", options.access_dir / "acl"
    if binary is not None:
        workdir = options.data_dir / "mosquitto"
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "mosquitto.conf"
        access = "" if options.allow_anonymous else f"password_file {passwd}\nacl_file {acl}\n"
        config.write_text(mosquitto_config(options.mqtt_port, workdir, access, anonymous=options.allow_anonymous)
                          .replace(f"listener {options.mqtt_port} 127.0.0.1",
                                   f"listener {options.mqtt_port} {options.host}"))
        return Child("mosquitto", [binary, "-c", str(config)], ready_port=options.mqtt_port), "5"
    argv = [sys.executable, "-m", "cloud.embedded_broker", "--host", options.host, "--port", str(options.mqtt_port)]
    argv += ["--allow-anonymous"] if options.allow_anonymous else ["--password-file", str(passwd),
                                                                    "--acl-file", str(acl)]
    return Child("broker", argv, ready_port=options.mqtt_port), "3.1.1"


def _credentials(options: ServeOptions, user: str) -> dict[str, str]:
    if options.allow_anonymous:
        return {}
    return {"ELDERCARE_MQTT_USERNAME": user,
            "ELDERCARE_MQTT_PASSWORD_FILE": str(options.access_dir / "credentials" / f"{user}.password")}


def _prepare_access(options: ServeOptions) -> None:
    """The ingester's and command sender's credentials, and where stations should connect (for `provision station
    --json`)."""
    ensure_service_users(options.access_dir)
    shown = socket.getfqdn() if options.host in ("0.0.0.0", "::") else options.host
    (options.access_dir / LISTENER_FILE).write_text(json.dumps({"host": shown, "port": options.mqtt_port}) + "\n")


def access_reloader(supervisor: Supervisor, options: ServeOptions) -> Callable[[], None]:
    """A tick that sends SIGHUP to Mosquitto when passwd or acl changed (Mosquitto re-reads both on SIGHUP).

    The embedded broker re-reads them itself; nothing to do for it, or with --allow-anonymous.
    """
    files = [options.access_dir / "passwd", options.access_dir / "acl"]

    def stamp() -> tuple[tuple[int, int, int], ...]:
        stamps = []
        for path in files:
            try:
                info = path.stat()
                stamps.append((info.st_ino, info.st_size, info.st_mtime_ns))
            except OSError:
                stamps.append((0, 0, 0))
        return tuple(stamps)

    seen = stamp()

    def tick() -> None:
        nonlocal seen
        now = stamp()
        if now == seen:
            return
        seen = now
        for child in supervisor.children:
            if child.name == "mosquitto" and child.process is not None and child.process.poll() is None:
                os.kill(child.process.pid, signal.SIGHUP)
                log.info("broker users or ACL changed: Mosquitto reloads them")

    return tick


def start_platform(options: ServeOptions, supervisor: Supervisor, say: Callable[[str], None]) -> str:
    """Migrate, import stations, then start broker, ingester, worker, command sender and API; returns the dashboard
    URL."""
    say(f"data in {options.data_dir}")
    supervisor.run_once("migrate", eldercare("cloud", "migrate"))
    if options.stations is not None:
        output = supervisor.run_once("stations import", eldercare("cloud", "stations", "import", str(options.stations)))
        say(output.strip().splitlines()[-1] if output.strip() else f"imported {options.stations}")
    problem = anonymous_problem(options.host, options.allow_anonymous)
    if problem:
        raise RuntimeError(problem)
    if options.allow_anonymous:
        say(ANONYMOUS_WARNING)
    else:
        _prepare_access(options)
    broker, mqtt_version = _broker(options)
    supervisor.start(broker, ready_timeout=15)
    access = "anonymous clients allowed" if options.allow_anonymous else (
        f"users and ACL from {options.access_dir}; add a station: eldercare cloud provision station ID "
        f"--data-dir {options.data_dir}")
    say(f"MQTT broker ({broker.name}, MQTT {mqtt_version}) on {options.host}:{options.mqtt_port}; {access}")
    # The embedded broker keeps no sessions: each start of it is a new one, and the ingester starts with it.
    embedded = ["--broker-keeps-no-sessions"] if broker.name == "broker" else []
    supervisor.start(Child("ingest", eldercare("cloud", "ingest", "--mqtt-version", mqtt_version,
                                               "--log-format", "kv", *embedded), env=_credentials(options, INGESTER)))
    supervisor.start(Child("worker", eldercare("cloud", "worker", *options.worker_args)))
    # The broker account that may publish stations' commands (named when the worker sent them).
    supervisor.start(Child("sender", eldercare("cloud", "sender", "--mqtt-version", mqtt_version),
                           env=_credentials(options, WORKER)))
    supervisor.start(Child("api", eldercare("cloud", "api", "--host", options.host, "--port", str(options.port)),
                           ready_port=options.port), ready_timeout=60)
    shown = "127.0.0.1" if options.host in ("0.0.0.0", "::") else options.host
    return f"http://{shown}:{options.port}/"


def claim(options: ServeOptions, command: str, port_options: tuple[str, str] = ("--port", "--mqtt-port")) -> IO[str]:
    """Take the data directory and check both ports, before anything is written or started; the returned lock must
    stay open while the platform runs. One-line ClickException otherwise."""
    try:
        lock = lock_data_dir(options.data_dir, command)
    except DataDirInUse as exc:
        raise click.ClickException(str(exc)) from None
    problem = (f"{port_options[0]} and {port_options[1]} are both {options.port}; give the broker another"
               if options.port == options.mqtt_port else None)
    for port, option in zip((options.port, options.mqtt_port), port_options, strict=True):
        problem = problem or port_problem(options.host, port, option)
    if problem:
        lock.close()
        raise click.ClickException(problem)
    return lock


def forget_listener(options: ServeOptions) -> None:
    """Remove `broker/listener.json`: no broker of this data directory listens any more (or none with accounts), so
    `eldercare cloud provision station` must not give its port to a station."""
    (options.access_dir / LISTENER_FILE).unlink(missing_ok=True)


def make_supervisor(options: ServeOptions) -> Supervisor:
    """The supervisor with the children's settings; the token key from the data directory unless one is set."""
    # A new data directory is the service's alone: the store, the broker's users and the token key are in it.
    options.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    overrides = {
        "ELDERCARE_DATA_DIR": str(options.data_dir),
        "ELDERCARE_MQTT_URL": f"mqtt://127.0.0.1:{options.mqtt_port}",
    }
    if not {"ELDERCARE_SECRET_KEY", "ELDERCARE_SECRET_KEY_FILE"} & os.environ.keys():
        overrides["ELDERCARE_SECRET_KEY_FILE"] = str(ensure_secret_key(options.data_dir))
    env = child_env(overrides)
    for name in ("ELDERCARE_MQTT_USERNAME", "ELDERCARE_MQTT_PASSWORD", "ELDERCARE_MQTT_PASSWORD_FILE"):
        env.pop(name, None)  # each child that talks to the broker gets its own account below
    return Supervisor(env, options.data_dir / "logs")


def run_until_stopped(supervisor: Supervisor, on_tick: Callable[[], None] | None = None) -> None:
    """Watch the children until Ctrl-C/SIGTERM (or one dies), then stop them all in order."""
    try:
        died = supervisor.watch(on_tick=on_tick)
        if died is not None:
            raise click.ClickException(f"{died} stopped unexpectedly; see {supervisor.log_dir / (died + '.log')}")
    finally:
        click.echo("stopping: API, command sender, worker, ingester (commits and acknowledges what it holds), then "
                   "the broker", err=True)
        supervisor.stop_all()
        click.echo("stopped cleanly", err=True)


def serve_options(func: Callable[..., None]) -> Callable[..., None]:
    func = click.option("--host", default="127.0.0.1", show_default=True,
                        help="Address the API and the broker listen on (0.0.0.0: stations on the network).")(func)
    func = click.option("--mqtt-port", default=1883, show_default=True, type=click.IntRange(1, 65535),
                        help="Port of the embedded MQTT broker the stations connect to (plain MQTT, no TLS).")(func)
    func = click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
                        help="API and dashboard port.")(func)
    return data_dir_option(func)


@click.command()
@serve_options
@click.option("--stations", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Import stations first: the bureau's CSV or a station YAML file.")
@click.option("--broker", type=click.Choice(["auto", "mosquitto", "embedded"]), default="auto", show_default=True,
              help="auto: Mosquitto (MQTT v5) when installed, else the embedded broker (MQTT 3.1.1).")
@click.option("--allow-anonymous", is_flag=True,
              help="Let MQTT clients connect without a password (loopback --host only; for trying things out).")
def serve(host: str, port: int, mqtt_port: int, data_dir: Path | None, stations: Path | None, broker: str,
          allow_anonymous: bool) -> None:
    """Run the whole platform on this machine (embedded broker, SQLite) until Ctrl-C."""
    problem = anonymous_problem(host, allow_anonymous)
    if problem:
        raise click.ClickException(problem)
    options = ServeOptions(host, port, mqtt_port, settings_for(data_dir).data_dir.resolve(), stations,
                           broker=broker, allow_anonymous=allow_anonymous)
    with claim(options, "serve"):
        forget_listener(options)  # one a serve killed outright left behind
        try:
            supervisor = make_supervisor(options)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
        supervisor.install_signal_handlers()
        try:
            try:
                url = start_platform(options, supervisor, lambda line: click.echo(line, err=True))
            except (RuntimeError, TimeoutError) as exc:
                supervisor.stop_all()
                raise click.ClickException(str(exc)) from None
            click.echo(f"dashboard: {url}   (Ctrl-C to stop; logs in {supervisor.log_dir})")
            run_until_stopped(supervisor, on_tick=None if allow_anonymous else access_reloader(supervisor, options))
        finally:
            forget_listener(options)
