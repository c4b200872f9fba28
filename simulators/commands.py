"""`eldercare simulate station`: a station's simulated day published to a broker, at real speed or faster."""

import json
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click


@click.command("station")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The station's YAML file (its devices and schedule shape the day).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Day to simulate (default: today in the station's zone).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(min=0),
              help="Time factor: 1 = real time, 60 = an hour a minute, 0 = as fast as possible.")
@click.option("--start", "start_at", default=None, metavar="HH:MM", help="Skip the day's events before this time.")
@click.option("--end", "end_at", default=None, metavar="HH:MM", help="Stop at this time of the day.")
@click.option("--hardware", is_flag=True,
              help="Drive simulated hardware (pty Modbus counters, mock GPIO pins) under the real agent instead of "
              "publishing generated events; timestamps are then the agent's own (wall clock).")
@click.option("--broker", default=None, metavar="HOST:PORT",
              help="A local broker instead of the config's (plain TCP, anonymous).")
@click.option("--truth", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the day's ground truth (JSON) here.")
def station(config_path: Path, day: datetime | None, seed: int, speed: float, start_at: str | None,
            end_at: str | None, hardware: bool, broker: str | None, truth: Path | None) -> None:
    """Simulate a station's day (staff, elders, door, counters, faces, a call) against a broker."""
    from firmware_config.load import ConfigError, load_station
    from simulators.day_events import station_day

    try:
        config = load_station(config_path)
    except ConfigError as exc:
        raise click.ClickException("\n".join(exc.problems)) from None
    if speed < 0:
        raise click.ClickException("--speed must be 0 (as fast as possible) or positive")
    from simulators.scenario import DEFAULT_SCHEDULE

    # Today where the station is, not where this machine is: at 00:10 in Shanghai a UTC machine is still on the day
    # before.
    the_day = day.date() if day else datetime.now(ZoneInfo((config.schedule or DEFAULT_SCHEDULE).timezone)).date()
    for text in (start_at, end_at):
        if text is not None and not _is_clock(text):
            raise click.ClickException(f"{text!r} is not HH:MM")
    if hardware:
        if speed <= 0:
            raise click.ClickException("--hardware runs in real time: --speed must be positive")
        _hardware(config, the_day, seed, speed, start_at, end_at, broker, truth)
        return
    facts, events = station_day(config, the_day, seed)
    if start_at:
        events = [e for e in events if e.at.strftime("%H:%M") >= start_at.zfill(5)]
    if end_at:
        events = [e for e in events if e.at.strftime("%H:%M") < end_at.zfill(5)]
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


def _is_clock(text: str) -> bool:
    hour, _, minute = text.partition(":")
    return hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60 and len(minute) == 2


def _hardware(config: Any, day: date, seed: int, speed: float, start_at: str | None, end_at: str | None,
              broker: str | None, truth_path: Path | None) -> None:
    import tempfile

    from simulators.rig import day_window, drive, run_agent_with, station_rig
    from simulators.scenario import plan_day

    if broker:
        host, _, port_text = broker.rpartition(":")
        if not port_text.isdigit():
            raise click.ClickException(f"--broker {broker!r} is not HOST:PORT")
        mqtt = config.mqtt.model_copy(update={"host": host, "port": int(port_text), "tls": False,
                                              "password_file": None, "password_env": None})
        config = config.model_copy(update={"mqtt": mqtt})
    facts = plan_day(config, day, seed)
    start, end = day_window(facts, start_at, end_at)
    played: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="eldercare-rig-") as tmp, station_rig(config, Path(tmp), speed) as rig:
        click.echo(f"{config.station} {day}: driving {len(rig.counters)} counters, {len(rig.doors)} doors, "
                   f"{len(rig.buttons)} buttons under the agent at x{speed:g}", err=True)
        run_agent_with(rig, lambda: played.append(drive(rig, facts, speed=speed, start=start, end=end)))
    if truth_path is not None and played:
        truth_path.write_text(json.dumps(played[0].to_json(), ensure_ascii=False, indent=2), encoding="utf-8")


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
