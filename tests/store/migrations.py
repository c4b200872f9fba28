"""Moving a test database to one Alembic revision, as the migration tests need (upgrade or downgrade in place)."""

from alembic import command
from sqlalchemy import Engine

from cloud.store.migrate import alembic_config


def migrate_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Upgrade (or, with `down`, downgrade) `engine`'s database to `revision`, on one connection."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
