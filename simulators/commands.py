"""`eldercare simulate station`: a station's simulated day published to a broker, at real speed or faster."""

import json
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click


@click.command("station")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The station's YAML file (its devices and schedule shape the day).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Day to simulate (default: today).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--speed", type=float, default=1.0, show_default=True,
              help="Time factor: 1 = real time, 60 = an hour a minute, 0 = as fast as possible.")
@click.option("--start", "start_at", default=None, metavar="HH:MM", help="Skip the day's events before this time.")
@click.option("--broker", default=None, metavar="HOST:PORT",
              help="A local broker instead of the config's (plain TCP, anonymous).")
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the day's ground truth (JSON) here.")
def station(config_path: Path, day: datetime | None, seed: int, speed: float, start_at: str | None,
            broker: str | None, truth: Path | None) -> None:
    """Simulate a station's day (staff, elders, door, counters, faces, a call) against a broker."""
    from firmware_config.load import ConfigError, load_station
    from simulators.day_events import station_day

    try:
        config = load_station(config_path)
    except ConfigError as exc:
        raise click.ClickException("\n".join(exc.problems)) from None
    if speed < 0:
        raise click.ClickException("--speed must be 0 (as fast as possible) or positive")
    the_day = day.date() if day else date.today()
    facts, events = station_day(config, the_day, seed)
    if start_at:
        try:
            hour, minute = (int(x) for x in start_at.split(":"))
        except ValueError:
            raise click.ClickException(f"--start {start_at!r} is not HH:MM") from None
        events = [e for e in events if (e.at.hour, e.at.minute) >= (hour, minute)]
    if truth is not None:
        truth.write_text(json.dumps(facts.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    host, port, tls, anonymous = config.mqtt.host, config.mqtt.port, config.mqtt.tls, False
    if broker:
        host, _, port_text = broker.rpartition(":")
        if not port_text.isdigit():
            raise click.ClickException(f"--broker {broker!r} is not HOST:PORT")
        port, tls, anonymous = int(port_text), False, True
    try:
        client = _connect(config, host, port, tls, anonymous)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{config.station} {the_day}: {len(events)} events, {len(facts.elders)} elders, "
               f"{len(facts.visits)} visits -> {host}:{port}", err=True)
    try:
        _publish(client, events, speed)
    finally:
        client.loop_stop()
        client.disconnect()


def _connect(config: Any, host: str, port: int, tls: bool, anonymous: bool) -> Any:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    from edge.mqtt import read_password

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{config.station}", protocol=paho.MQTTv5)
    if tls:
        client.tls_set(ca_certs=str(config.mqtt.ca_file) if config.mqtt.ca_file else None)
    password = None if anonymous else read_password(config.mqtt)
    if password is not None:
        client.username_pw_set(config.mqtt.username or config.station, password)
    client.max_inflight_messages_set(256)
    try:
        client.connect(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot reach the broker at {host}:{port}: {exc}") from None
    client.loop_start()
    return client


def _publish(client: Any, events: list[Any], speed: float) -> None:
    if not events:
        return
    first, started = events[0].at, time.monotonic()
    pending = []
    with click.progressbar(events, label="publishing", file=click.get_text_stream("stderr")) as bar:
        for event in bar:
            if speed > 0:
                due = started + (event.at - first).total_seconds() / speed
                time.sleep(max(0.0, due - time.monotonic()))
            retain = event.topic.endswith("/health")
            pending.append(client.publish(event.topic, event.payload, qos=1, retain=retain))
            if len(pending) >= 1000:
                pending = [p for p in pending if not p.is_published()]
    for info in pending:
        info.wait_for_publish(10)
