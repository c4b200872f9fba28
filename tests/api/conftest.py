"""API fixtures: a migrated SQLite store with two towns of stations, a user of every role, a client per role."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.api.security import hash_password
from cloud.settings import Settings
from cloud.store.db import make_engine, make_session_factory
from cloud.store.migrate import upgrade
from cloud.store.models import Station
from cloud.store.users import User, UserTown
from tests.api import fleet

PASSWORD = "correct horse battery"
# A Monday in October 2026 (a working day), 10:00 in Shanghai: the fleet's "now".
NOW = fleet.NOW

STATIONS = [
    ("hl-01", "汇龙一站", "汇龙镇", "3A"),
    ("hl-02", "汇龙二站", "汇龙镇", "2A"),
    ("nh-01", "南阳一站", "南阳镇", "4A"),
    ("nh-02", "南阳二站", "南阳镇", "5A"),
]
USERS = {
    "admin": ("bureau", (), None),
    "town-hl": ("town", ("汇龙镇",), None),
    "staff-hl1": ("station", (), "hl-01"),
    "staff-nh1": ("station", (), "nh-01"),
    "dispatch": ("dispatch", (), None),
}


def seed(engine: Engine) -> None:
    with make_session_factory(engine)() as session:
        for sid, name, town, grade in STATIONS:
            session.add(Station(id=sid, name=name, town=town, grade=grade, address=f"{town}{name}路1号",
                                weekdays="1-5", hours="08:30-11:30 13:30-17:00"))
        pw = hash_password(PASSWORD)
        for name, (role, towns, station) in USERS.items():
            user = User(name=name, role=role, password_hash=pw, station_id=station)
            user.towns = [UserTown(town=t) for t in towns]
            session.add(user)
        session.commit()


def migrated(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    seed(engine)
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = migrated(f"sqlite:///{tmp_path / 'api.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def fleet_engine(engine: Engine) -> Engine:
    """The store with the fleet's events derived by the worker's own recompute (see tests/api/fleet.py)."""
    fleet.build(engine)
    return engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_session_factory(engine)() as session:
        yield session


def settings_for(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key="test-secret-key-that-is-long-enough")


def make_app(engine: Engine, tmp_path: Path) -> FastAPI:
    return create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: NOW, stream_poll_s=0.05), engine=engine)


@pytest.fixture
def app_client(engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(make_app(engine, tmp_path)) as client:
        yield client


@pytest.fixture
def fleet_client(fleet_engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(make_app(fleet_engine, tmp_path)) as client:
        yield client


def token_for(client: TestClient, name: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/token", data={"username": name, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _as_user(client: TestClient) -> Callable[[str], TestClient]:
    tokens: dict[str, str] = {}

    def use(name: str) -> TestClient:
        if name not in tokens:
            tokens[name] = token_for(client, name)
        client.headers["Authorization"] = f"Bearer {tokens[name]}"
        return client

    return use


@pytest.fixture
def as_user(app_client: TestClient) -> Callable[[str], TestClient]:
    """`as_user("admin")`: the client with that user's bearer token set (registry only, nothing derived)."""
    return _as_user(app_client)


@pytest.fixture
def fleet_as(fleet_client: TestClient) -> Callable[[str], TestClient]:
    """`fleet_as("town-hl")`: the client on the derived fleet, switched to that user's token (one shared client:
    switch again before using it as another user)."""
    return _as_user(fleet_client)
