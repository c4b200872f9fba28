"""`eldercare serve`: the whole platform on one machine — broker, ingester, worker, API and dashboard — on SQLite.

Mosquitto (MQTT v5, shared subscription) when it is installed, else the embedded pure-Python broker (MQTT 3.1.1,
one ingester on a plain subscription). Ctrl-C or SIGTERM stops the API and worker first, then the ingester (which
commits and acknowledges what it holds), then the broker: nothing is lost.
"""

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click

from cloud.store.options import data_dir_option, settings_for
from cloud.supervisor import Child, Supervisor, child_env, eldercare
from eldercare.localservices import mosquitto_config, mosquitto_path, wait_for_port

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


def _broker(options: ServeOptions) -> tuple[Child, str]:
    """The broker child and the MQTT protocol version the ingester must speak to it."""
    binary = mosquitto_path() if options.broker in ("auto", "mosquitto") else None
    if options.broker == "mosquitto" and binary is None:
        raise RuntimeError("--broker mosquitto: mosquitto is not installed (Debian: apt-get install mosquitto)")
    if binary is not None:
        workdir = options.data_dir / "mosquitto"
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "mosquitto.conf"
        config.write_text(mosquitto_config(options.mqtt_port, workdir).replace(
            f"listener {options.mqtt_port} 127.0.0.1", f"listener {options.mqtt_port} {options.host}"))
        return Child("mosquitto", [binary, "-c", str(config)], ready_port=options.mqtt_port), "5"
    argv = [sys.executable, "-m", "cloud.embedded_broker", "--host", options.host, "--port", str(options.mqtt_port)]
    return Child("broker", argv, ready_port=options.mqtt_port), "3.1.1"


def start_platform(options: ServeOptions, supervisor: Supervisor, say: Callable[[str], None]) -> str:
    """Migrate, import stations, then start broker, ingester, worker and API; returns the dashboard URL."""
    say(f"data in {options.data_dir}")
    supervisor.run_once("migrate", eldercare("cloud", "migrate"))
    if options.stations is not None:
        output = supervisor.run_once("stations import", eldercare("cloud", "stations", "import", str(options.stations)))
        say(output.strip().splitlines()[-1] if output.strip() else f"imported {options.stations}")
    broker, mqtt_version = _broker(options)
    supervisor.start(broker, wait=wait_for_port)
    say(f"MQTT broker ({broker.name}, MQTT {mqtt_version}) on {options.host}:{options.mqtt_port}")
    supervisor.start(Child("ingest", eldercare("cloud", "ingest", "--mqtt-version", mqtt_version,
                                               "--log-format", "kv")))
    supervisor.start(Child("worker", eldercare("cloud", "worker", *options.worker_args)))
    supervisor.start(Child("api", eldercare("cloud", "api", "--host", options.host, "--port", str(options.port)),
                           ready_port=options.port), wait=lambda port: wait_for_port(port, timeout=60))
    shown = "127.0.0.1" if options.host in ("0.0.0.0", "::") else options.host
    return f"http://{shown}:{options.port}/"


def make_supervisor(options: ServeOptions) -> Supervisor:
    options.data_dir.mkdir(parents=True, exist_ok=True)
    env = child_env({
        "ELDERCARE_DATA_DIR": str(options.data_dir),
        "ELDERCARE_MQTT_URL": f"mqtt://127.0.0.1:{options.mqtt_port}",
    })
    return Supervisor(env, options.data_dir / "logs")


def run_until_stopped(supervisor: Supervisor, on_tick: Callable[[], None] | None = None) -> None:
    """Watch the children until Ctrl-C/SIGTERM (or one dies), then stop them all in order."""
    try:
        died = supervisor.watch(on_tick=on_tick)
        if died is not None:
            raise click.ClickException(f"{died} stopped unexpectedly; see {supervisor.log_dir / (died + '.log')}")
    finally:
        click.echo("stopping: API, worker, ingester (commits and acknowledges what it holds), then the broker",
                   err=True)
        supervisor.stop_all()
        click.echo("stopped cleanly", err=True)


def serve_options(func: Callable[..., None]) -> Callable[..., None]:
    func = click.option("--host", default="127.0.0.1", show_default=True,
                        help="Address the API and the broker listen on (0.0.0.0: stations on the network).")(func)
    func = click.option("--mqtt-port", default=1883, show_default=True, type=click.IntRange(1, 65535))(func)
    func = click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
                        help="API and dashboard port.")(func)
    return data_dir_option(func)


@click.command()
@serve_options
@click.option("--stations", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Import stations first: the bureau's CSV or a station YAML file.")
@click.option("--broker", type=click.Choice(["auto", "mosquitto", "embedded"]), default="auto", show_default=True,
              help="auto: Mosquitto (MQTT v5) when installed, else the embedded broker (MQTT 3.1.1).")
def serve(host: str, port: int, mqtt_port: int, data_dir: Path | None, stations: Path | None, broker: str) -> None:
    """Run the whole platform on this machine (embedded broker, SQLite) until Ctrl-C."""
    options = ServeOptions(host, port, mqtt_port, settings_for(data_dir).data_dir.resolve(), stations,
                           broker=broker)
    supervisor = make_supervisor(options)
    supervisor.install_signal_handlers()
    try:
        url = start_platform(options, supervisor, lambda line: click.echo(line, err=True))
    except (RuntimeError, TimeoutError) as exc:
        supervisor.stop_all()
        raise click.ClickException(str(exc)) from None
    click.echo(f"dashboard: {url}   (Ctrl-C to stop; logs in {supervisor.log_dir})")
    run_until_stopped(supervisor)
