"""Shared fixtures: real services on free 127.0.0.1 ports, stopped by the test that started them."""

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cloud.store.db import make_engine
from cloud.store.migrate import upgrade
from tests.localservices import Mosquitto, Postgres, run_mosquitto, run_postgres

FACES = Path(__file__).resolve().parent / "data" / "faces"


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A real Mosquitto with anonymous access, for this test only."""
    with run_mosquitto(workdir=tmp_path) as broker:
        yield broker


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    """One real PostgreSQL cluster for the whole session (Debian `postgresql`)."""
    with run_postgres() as server:
        yield server


_db_names = itertools.count()


@pytest.fixture
def postgres_url(postgres_server: Postgres) -> str:
    """A fresh, empty PostgreSQL database for this test."""
    return postgres_server.create_database(f"test_{next(_db_names)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once on each dialect: SQLite in tmp_path, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated, empty store on each dialect (a folder's conftest may override it with one holding its data)."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()
