"""Run the package's Alembic migrations programmatically (no alembic.ini needed, works when installed)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None, script_location: Path = MIGRATIONS) -> Config:
    """An Alembic config pointing at the migrations inside this package."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, script_location: Path = MIGRATIONS) -> list[str]:
    """Upgrade the database to every head (each area's branch from 0001); returns the revisions now applied."""
    config = alembic_config(script_location=script_location)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    return current_revisions(engine)


def current_revisions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def head_revisions() -> list[str]:
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


class SchemaNotReady(RuntimeError):
    """The database cannot be opened, or lacks a migration this code needs; the message is one line."""


def require_schema(engine: Engine) -> None:
    """Raise SchemaNotReady unless the database is reachable and at every head (what serving processes check)."""
    url = engine.url.render_as_string(hide_password=True)
    try:
        current, heads = set(current_revisions(engine)), set(head_revisions())
    except SQLAlchemyError as exc:
        raise SchemaNotReady(f"cannot open {url}: {str(exc).strip().splitlines()[0]}") from None
    if not heads <= current:
        raise SchemaNotReady(f"the database {url} is not migrated (at {sorted(current) or 'none'}, "
                             f"needs {sorted(heads)}): run 'eldercare cloud migrate'")
