"""Home-care fixtures: a migrated store on SQLite and PostgreSQL, with users of every home-care role."""

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
