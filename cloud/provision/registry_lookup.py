"""What the station registry says, for provisioning: a station's row, every station's id, and an option given on the
command line that disagrees with the registry (the registry is changed by importing, never by provisioning)."""

from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cloud.store.models import Station
from cloud.store.options import open_store, settings_for


def registry_stations(data_dir: Path | None) -> list[str]:
    engine = open_store(settings_for(data_dir).resolved_database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(Station.id)).scalars())
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the station registry: {str(exc).splitlines()[0]} "
                                   "(import stations, or pass --stations)") from None
    finally:
        engine.dispose()


def registered_station(data_dir: Path | None, station_id: str) -> Station | None:
    """The station's registry row (its values in force today), or None when it is not registered. An embedded
    SQLite store that does not exist yet has no stations: it is not created just to look."""
    url = settings_for(data_dir).resolved_database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return None
    engine = None
    try:
        engine = open_store(url)
        with Session(engine) as session:
            found = session.get(Station, station_id)
            if found is not None:
                session.expunge(found)
            return found
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the station registry: {str(exc).splitlines()[0]}") from None
    finally:
        if engine is not None:
            engine.dispose()


def registry_conflict(ctx: click.Context, registered: Station, given: dict[str, str | None]) -> str | None:
    """The first option given on the command line that says otherwise than the registry, as one line; None if none.
    The registry is changed by importing the station's file or the bureau's CSV, never by provisioning it."""
    for option, value in given.items():
        if ctx.get_parameter_source(option) in (None, click.core.ParameterSource.DEFAULT):
            continue
        held = getattr(registered, option)
        if (value or "").strip() != (held or "").strip():
            what = f"{option} {held}" if held else f"no {option}"
            return (f"{registered.id} is registered with {what} (a {registered.kind}), not --{option} {value}: "
                    "leave the option out, or change the registry with `eldercare cloud stations import`")
    return None
