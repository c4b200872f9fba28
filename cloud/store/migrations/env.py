"""Alembic environment: runs on a connection handed over by `cloud.store.migrate`, or on `sqlalchemy.url`."""

import importlib
import pkgutil

from alembic import context

import cloud.store
from cloud.store.db import make_engine
from cloud.store.models import Base

# Every table module of the package registers on Base.metadata (for autogenerate and comparisons).
for info in pkgutil.iter_modules(cloud.store.__path__):
    if info.name not in ("migrations", "commands"):
        importlib.import_module(f"cloud.store.{info.name}")

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=Base.metadata,
                          literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    if connection is None:
        engine = make_engine(str(config.get_main_option("sqlalchemy.url")))
        with engine.connect() as own:
            _migrate(own)
        engine.dispose()
    else:
        _migrate(connection)


def _migrate(connection: object) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)  # type: ignore[arg-type]
    with context.begin_transaction():
        context.run_migrations()


run()
