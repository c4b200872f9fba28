"""`eldercare contract`: check messages against station protocol v1, and print its AsyncAPI document."""

import sys
from pathlib import Path

import click

from station_protocol import ProtocolError, decode
from station_protocol.asyncapi import render


@click.group()
def contract() -> None:
    """The station protocol v1 contract."""


@contract.command()
@click.argument("topic")
@click.argument("payload_file", type=click.File("rb"))
def check(topic: str, payload_file: click.utils.LazyFile) -> None:
    """Check that PAYLOAD_FILE (or - for standard input) is a valid message on TOPIC.

    Prints `ok` and exits 0 when it is; prints one line per problem and exits 1 when it is not.
    """
    payload = payload_file.read()
    try:
        decoded = decode(topic, payload)
    except ProtocolError as exc:
        for problem in exc.problems:
            click.echo(problem)
        sys.exit(1)
    click.echo("ok")
    if decoded.clock_fault:
        click.echo(f"warning: clock fault: {decoded.clock_fault}", err=True)


@contract.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
def asyncapi(output: Path | None) -> None:
    """Print the AsyncAPI 3.0 document generated from the protocol models."""
    text = render()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
