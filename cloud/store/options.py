"""The one way every command finds its database: `--data-dir` over `ELDERCARE_DATA_DIR`, unless a URL is set.

`ELDERCARE_DATABASE_URL` wins; otherwise SQLite `eldercare.db` in `--data-dir`, else `ELDERCARE_DATA_DIR`, else ./data.
"""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
from pydantic import ValidationError

from cloud.settings import Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

F = TypeVar("F", bound=Callable[..., object])


def data_dir_option(func: F) -> F:
    """`--data-dir DIR` (default: ELDERCARE_DATA_DIR, else ./data)."""
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Where the embedded SQLite database lives (default: $ELDERCARE_DATA_DIR, else ./data). "
        "Ignored when ELDERCARE_DATABASE_URL is set.",
    )(func)


def settings_for(data_dir: Path | None = None) -> Settings:
    """Validated settings, with `--data-dir` applied; a bad setting becomes a one-line CLI error."""
    try:
        settings = load_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        where = f"ELDERCARE_{field.upper()}: " if field else ""
        raise click.ClickException(f"bad setting {where}{first['msg'].removeprefix('Value error, ')}") from None
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings


def database_url(data_dir: Path | None = None) -> str:
    """The store's SQLAlchemy URL for a command given `--data-dir` (or None)."""
    return settings_for(data_dir).resolved_database_url


def missing_store_problem(url: str) -> str | None:
    """Why a command must not create this store: an embedded SQLite file that does not exist yet means a wrong
    folder or `--data-dir` (a typo would otherwise start a new, empty platform without a word). None otherwise."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database)
    if path.exists():
        return None
    return (f"no eldercare data in {path.parent} (no {path.name}): run the command from the folder where "
            "`eldercare serve` runs, or pass --data-dir (a new platform: `eldercare cloud migrate --data-dir DIR` "
            "creates one)")


def open_store(url: str, create: bool = False) -> "Engine":
    """An engine on a store this command can use: an embedded SQLite file is upgraded here, as `serve` does, and
    created only when `create` (the platform's own processes; an operator's command on a folder without one is
    refused, see `missing_store_problem`); another database must be migrated already, else one line naming
    `eldercare cloud migrate`."""
    from cloud.store.db import make_engine
    from cloud.store.migrate import SchemaNotReady, ensure_schema

    problem = None if create else missing_store_problem(url)
    if problem:
        raise click.ClickException(problem)
    engine = make_engine(url)
    try:
        ensure_schema(engine)
    except SchemaNotReady as exc:
        engine.dispose()
        raise click.ClickException(str(exc)) from None
    return engine
