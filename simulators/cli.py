"""`eldercare simulate`: devices at their hardware boundary, stations and fleets."""

import click

from eldercare.lazy import LazyGroup

COMMANDS = {
    "station": ("simulators.commands:station", "Simulate a station's day against a broker."),
    "fleet": ("simulators.fleet_commands:fleet", "Simulate a fleet of stations against a broker."),
}


@click.group(cls=LazyGroup, lazy=COMMANDS)
def simulate() -> None:
    """Simulated devices, stations and fleets."""
