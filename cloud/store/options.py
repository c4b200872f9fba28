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


def open_store(url: str) -> "Engine":
    """An engine on a store this command can use: embedded SQLite is created or upgraded here, as `serve` does;
    another database must be migrated already, else one line naming `eldercare cloud migrate`."""
    from cloud.store.db import make_engine
    from cloud.store.migrate import SchemaNotReady, ensure_schema

    engine = make_engine(url)
    try:
        ensure_schema(engine)
    except SchemaNotReady as exc:
        engine.dispose()
        raise click.ClickException(str(exc)) from None
    return engine
