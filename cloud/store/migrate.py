"""Run the package's Alembic migrations programmatically (no alembic.ini needed, works when installed)."""

import fcntl
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

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


def _locked(engine: Engine) -> AbstractContextManager[object]:
    """An exclusive lock beside a SQLite file, so processes started together migrate it once, one after another."""
    database = engine.url.database
    if not database or database == ":memory:":
        return nullcontext()
    return _file_lock(Path(database).with_name(Path(database).name + ".migrate-lock"))


@contextmanager
def _file_lock(path: Path) -> Iterator[object]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_schema(engine: Engine) -> list[str]:
    """Make the store usable by a command: an embedded SQLite file is created or upgraded in place; any other
    database must already be migrated (a shared server is upgraded deliberately, by `eldercare cloud migrate`).

    Returns the revisions applied; raises SchemaNotReady with one line otherwise.
    """
    with _quiet_alembic():
        if engine.dialect.name != "sqlite":
            require_schema(engine)
            return current_revisions(engine)
        url = engine.url.render_as_string(hide_password=True)
        with _locked(engine):
            try:
                before = current_revisions(engine)
                if set(head_revisions()) <= set(before):
                    return before
                after = upgrade(engine)
            except CommandError as exc:
                # Typically a file written by a newer release: its revision is unknown to this one.
                raise SchemaNotReady(f"cannot upgrade {url}: {str(exc).strip().splitlines()[0]} "
                                     "(was it written by a newer eldercare?)") from None
            except SQLAlchemyError as exc:
                raise SchemaNotReady(f"cannot open {url}: {str(exc).strip().splitlines()[0]}") from None
    log.info("%s %s: schema at %s", "upgraded" if before else "created", url, ", ".join(after))
    return after


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    """Alembic announces every context it opens; a command that only checks or quietly upgrades says it once."""
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)
