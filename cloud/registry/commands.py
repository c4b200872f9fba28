"""`eldercare cloud stations import FILE…`: load stations from the bureau's CSV or station YAML files."""

from pathlib import Path

import click

from cloud.registry.sources import read_sources
from cloud.registry.store import upsert_stations
from cloud.store.admin import command_line_actor
from cloud.store.options import data_dir_option, database_url, open_store


@click.group()
def stations() -> None:
    """The station registry."""


@stations.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@data_dir_option
def import_(files: tuple[Path, ...], data_dir: Path | None) -> None:
    """Import stations from CSV (station_id,name,town,grade,weekdays,hours[,open_on_holidays,address,timezone,kind])
    or station YAML. kind: station (the default, with its grade), care_centre or neighbourhood_point (no grade).

    Good rows are imported even when others are bad; re-importing updates stations, never duplicates them.
    Exit status 1 when any row or file had a problem (each printed with its line).
    """
    records, problems = read_sources(list(files))
    for problem in problems:
        click.echo(problem, err=True)
    engine = open_store(database_url(data_dir))
    try:
        counts = upsert_stations(engine, records, actor=command_line_actor())
    finally:
        engine.dispose()
    click.echo(f"stations: {counts.added} added, {counts.updated} updated, {counts.unchanged} unchanged")
    if problems:
        done = counts.added + counts.updated + counts.unchanged
        rest = "the other stations were imported" if done else "no station was imported"
        raise click.ClickException(f"{len(problems)} problem(s) above; {rest}")
