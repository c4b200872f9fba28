"""Store fixtures: a migrated database on SQLite or on PostgreSQL, chosen by parameter."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from cloud.store.db import make_engine
from cloud.store.migrate import upgrade


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on each dialect."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()
