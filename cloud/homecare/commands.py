"""`eldercare cloud homecare import KIND FILE…`: load home-care providers, caregivers or elders from the bureau's
CSV files."""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cloud.store.options import data_dir_option, database_url, open_store

if TYPE_CHECKING:
    from cloud.csv_records import Problem

KINDS = ("providers", "caregivers", "elders")


@click.group()
def homecare() -> None:
    """The home-care registry (居家上门服务): providers, caregivers and elders."""


def _parse(kind: str, text: str) -> tuple[list[tuple[int, Any]], list["Problem"]]:
    """The file's records of `kind`, each with its line (a row the store refuses is reported by line too)."""
    from cloud.csv_records import parse_csv_lines
    from cloud.homecare import csv_files

    columns, row = {"providers": (csv_files.PROVIDER_COLUMNS, csv_files.provider_row),
                    "caregivers": (csv_files.CAREGIVER_COLUMNS, csv_files.caregiver_row),
                    "elders": (csv_files.ELDER_COLUMNS, csv_files.elder_row)}[kind]
    return parse_csv_lines(text, columns, row, lambda r: str(r.id), kind[:-1])


@homecare.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_dir_option
def import_(kind: str, files: tuple[Path, ...], data_dir: Path | None) -> None:
    """Import KIND (providers, caregivers or elders; in that order the first time) from CSV FILES.

    \b
    providers:  provider_id,name,town[,phone]
    caregivers: caregiver_id,name,provider[,phone]        (caregiver_id: the job number)
    elders:     elder_id,name,category,town,provider[,address,package,lat,lon,timezone,since,until]
                category: high_age, self_care, semi_disabled or disabled (or 高龄, 自理, 半失能, 失能)

    Good rows are imported even when others are bad; re-importing updates rows, never duplicates them.
    Exit status 1 when any row or file had a problem (each printed with its line).
    """
    from cloud.csv_records import decode_csv_bytes
    from cloud.homecare.store.errors import HomecareError
    from cloud.homecare.store.registry import upsert_caregiver, upsert_elder, upsert_provider
    from cloud.store.db import make_session_factory
    from cloud.store.homecare import HomecareCaregiver, HomecareElder, HomecareProvider

    upserts: dict[str, Callable[..., Any]] = {"providers": upsert_provider,
                                              "caregivers": upsert_caregiver, "elders": upsert_elder}
    upsert = upserts[kind]
    model: type[Any] = {"providers": HomecareProvider, "caregivers": HomecareCaregiver, "elders": HomecareElder}[kind]
    problems: list[str] = []
    records: list[tuple[Path, int, Any]] = []
    for path in files:
        try:
            found, bad = _parse(kind, decode_csv_bytes(path.read_bytes()))
        except ValueError as exc:
            problems.append(f"{path}: {exc}")
            continue
        problems += [f"{path}: {problem}" for problem in bad]
        records += [(path, line, record) for line, record in found]
    added = updated = 0
    engine = open_store(database_url(data_dir))
    try:
        with make_session_factory(engine)() as session:
            for path, line, record in records:
                existed = session.get(model, record.id) is not None
                try:
                    with session.begin_nested():
                        upsert(session, record)
                except HomecareError as exc:
                    problems.append(f"{path}: line {line}: {kind[:-1]} {record.id}: {exc}")
                    continue
                added, updated = added + (not existed), updated + existed
            session.commit()
    finally:
        engine.dispose()
    for problem in problems:
        click.echo(problem, err=True)
    click.echo(f"{kind}: {added} added, {updated} updated")
    if problems:
        raise click.ClickException(f"{len(problems)} problem(s) above; the other {kind} were imported")
