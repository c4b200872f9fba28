"""`eldercare simulate fleet`: a fleet's last N days replayed on an accelerated clock, then live against a broker until
stopped (heartbeats and answers to the cloud's time checks, simulators.fleet_agents)."""

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from simulators.day_events import SimEvent
from simulators.fleet import Fleet, build_fleet, fleet_events, stations_csv
from simulators.fleet_agents import DEFAULT_HEARTBEAT_S, LiveAgents
from simulators.publisher import BrokerTarget, CredentialsError, FleetPublisher, SimClock, real_now, replay
from simulators.scenario import DEFAULT_SCHEDULE

DEFAULT_TIMEZONE = DEFAULT_SCHEDULE.timezone


@dataclass(frozen=True)
class Span:
    """The simulated span: from `first` (local midnight of `days` ago) until the end of today, dates in the
    stations' zone (a fleet shares one: at 00:10 in Shanghai, today is already the next day there)."""

    first: date
    last: date
    now: datetime
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def last_days(cls, days: int, now: datetime | None = None, timezone: str = DEFAULT_TIMEZONE) -> "Span":
        now = now or datetime.now(UTC)
        today = now.astimezone(ZoneInfo(timezone)).date()
        return cls(today - timedelta(days=days), today, now, timezone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def day_number(self, at: datetime) -> int:
        """1 for the first day, `days` for today: the counters' midnight reading of a day carries the next date."""
        local = at.astimezone(ZoneInfo(self.timezone)).date()
        return min(max((local - self.first).days + 1, 1), self.days)


def parse_broker(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(f"{text!r} is not HOST:PORT")
    return host, int(port)


def run_fleet(fleet: Fleet, target: BrokerTarget, span: Span, speed: float, seed: int, stop: threading.Event,
              say: Callable[[str], None] | None = None, caught_up: threading.Event | None = None,
              now: Callable[[], datetime] = real_now, heartbeat_s: float = DEFAULT_HEARTBEAT_S,
              answer_checks: bool = True) -> int:
    """Replay the span on the accelerated clock (it never runs ahead of `now`, so today goes live), then run live
    until `stop`: every station but the one gone offline heartbeats every `heartbeat_s` and answers the cloud's time
    checks by `now` (`answer_checks=False`: receives them and answers none). Returns the messages published."""
    publisher = FleetPublisher(target, [s.station for s in fleet.stations])
    clock = SimClock(datetime.combine(span.first, datetime.min.time(), ZoneInfo(span.timezone)), speed, now)
    # The offline station's agent is gone (its last will said so): it neither heartbeats nor answers.
    agents = LiveAgents(publisher, [s.station for s in fleet.stations if s.station != fleet.offline], now,
                        heartbeat_s, answer_checks)
    said = 0

    def progress(event: SimEvent, count: int) -> None:
        nonlocal said
        number = span.day_number(event.at)
        if say is not None and number > said:
            said = number
            say(f"simulating {span.first + timedelta(days=number - 1)}  (day {number}/{span.days}, "
                f"{count:,} messages so far)")

    try:
        replay(fleet_events(fleet, span.first, span.last, seed), publisher, clock, stop, progress, caught_up,
               on_live=agents.start)
        while not stop.wait(1):  # live: the agents heartbeat and answer until stopped
            pass
        return publisher.published
    finally:
        agents.stop()
        publisher.close()
        if say is not None:
            say(agents.summary())


@click.command()
@click.option("--stations", "count", default=30, show_default=True, type=click.IntRange(3, 5000))
@click.option("--days", default=30, show_default=True, type=click.IntRange(0, 366), help="History to replay.")
@click.option("--speed", default=14400.0, show_default=True, type=click.FloatRange(min=0),
              help="Simulated seconds per real second while replaying history (14400: a month in 3 minutes).")
@click.option("--seed", default=0, show_default=True)
@click.option("--broker", default="127.0.0.1:1883", show_default=True, help="HOST:PORT of the MQTT broker.")
@click.option("--credentials", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Directory of <station>.password files (from `eldercare cloud provision station`).")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="TLS CA certificate.")
@click.option("--heartbeat-s", default=DEFAULT_HEARTBEAT_S, show_default=True,
              type=click.FloatRange(min=0, max=300, min_open=True),
              help="Seconds between each live station's heartbeats (the real agent's `heartbeat_s`).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the fleet's station CSV here (for `eldercare cloud stations import`).")
def fleet(count: int, days: int, speed: float, seed: int, broker: str, credentials: Path | None,
          ca_file: Path | None, heartbeat_s: float, csv_path: Path | None) -> None:
    """Simulate a fleet of stations: replay the last DAYS days accelerated, then keep publishing live (heartbeats,
    answers to the cloud's time checks) until Ctrl-C."""
    host, port = parse_broker(broker)
    span = Span.last_days(days)
    the_fleet = build_fleet(count, span.first, span.last, span.now)
    if csv_path is not None:
        csv_path.write_text(stations_csv(the_fleet), encoding="utf-8")
        click.echo(f"wrote {csv_path}", err=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        sent = run_fleet(the_fleet, BrokerTarget(host, port, credentials, ca_file), span, speed, seed, stop,
                         lambda line: click.echo(line, err=True), heartbeat_s=heartbeat_s)
    except CredentialsError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        raise click.ClickException(f"cannot reach the broker at {broker}: {exc}") from None
    click.echo(f"published {sent:,} messages", err=True)
