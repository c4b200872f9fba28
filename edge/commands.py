"""`eldercare edge check-config` and `eldercare edge run`."""

import asyncio
import faulthandler
import logging
import os
import signal
import sqlite3
from pathlib import Path

import click

log = logging.getLogger(__name__)


@click.command("check-config")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def check_config(files: tuple[Path, ...]) -> None:
    """Validate station config FILES without touching hardware: one line per problem, exit 1 if any."""
    from firmware_config.load import ConfigError, load_station

    bad = 0
    for path in files:
        try:
            config = load_station(path)
        except ConfigError as exc:
            bad += 1
            for problem in exc.problems:
                click.echo(problem, err=True)
            continue
        kinds = ", ".join(f"{d.id} ({d.type})" for d in config.devices) or "no devices"
        click.echo(f"{path}: ok: {config.station} {config.grade or config.kind}, {kinds}")
    if bad:
        raise click.ClickException(f"{bad} of {len(files)} station files are invalid")


@click.command("run")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The station's YAML file.")
@click.option("--outbox", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Outbox file (default: agent.outbox from the config).")
@click.option("--mock-gpio", is_flag=True, help="Use gpiozero's mock pins (simulation; same as "
              "GPIOZERO_PIN_FACTORY=mock).")
def run(config_path: Path, outbox: Path | None, mock_gpio: bool) -> None:
    """Run the station agent until stopped (SIGTERM/SIGINT)."""
    from firmware_config.load import ConfigError, load_station

    try:
        config = load_station(config_path)
    except ConfigError as exc:
        for problem in exc.problems[:-1]:
            click.echo(problem, err=True)
        raise click.ClickException(exc.problems[-1]) from None
    from edge.mqtt import file_problems

    problems = file_problems(config.mqtt)
    if problems:
        for problem in problems[:-1]:
            click.echo(f"{config_path}: {problem}", err=True)
        raise click.ClickException(f"{config_path}: {problems[-1]}")
    if mock_gpio:
        os.environ["GPIOZERO_PIN_FACTORY"] = "mock"
    from edge.agent import Agent

    try:
        agent = Agent(config, outbox_path=outbox)
    except (OSError, sqlite3.Error) as exc:  # e.g. a fresh outbox on a full card: systemd tries again
        raise click.ClickException(f"cannot open the outbox: {exc}") from None
    # `kill -USR1 <pid>` writes every thread's stack to the journal: how to see where a stuck agent is.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    from edge.agent import OutboxFailed

    try:
        asyncio.run(_run_until_signal(agent))
    except OutboxFailed as exc:  # said in the log already; exit status 1 lets systemd restart the agent
        raise click.ClickException(str(exc)) from None


async def _run_until_signal(agent: "object") -> None:
    from edge.agent import Agent

    assert isinstance(agent, Agent)
    task = asyncio.create_task(agent.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        log.info("agent stopped")
