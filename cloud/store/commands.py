"""`eldercare cloud migrate`: create or upgrade the store's schema (every area's Alembic head)."""

from pathlib import Path

import click
from alembic.util.exc import CommandError
from sqlalchemy.exc import OperationalError

from cloud.store.db import make_engine, safe_url
from cloud.store.migrate import upgrade
from cloud.store.options import data_dir_option, database_url


@click.command()
@data_dir_option
def migrate(data_dir: Path | None) -> None:
    """Create or upgrade the database schema to the latest revision of every area."""
    url = database_url(data_dir)
    engine = make_engine(url)
    try:
        revisions = upgrade(engine)
    except OperationalError as exc:
        raise click.ClickException(f"cannot migrate {safe_url(url)}: {str(exc.orig).strip().splitlines()[0]}") from None
    except CommandError as exc:
        # Typically a database written by a newer release: its revision is unknown to this one.
        raise click.ClickException(f"cannot migrate {safe_url(url)}: {str(exc).strip().splitlines()[0]} "
                                   "(was it written by a newer eldercare?)") from None
    finally:
        engine.dispose()
    click.echo(f"{safe_url(url)}: schema at {', '.join(revisions)}")
