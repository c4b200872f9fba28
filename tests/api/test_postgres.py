"""A subset of the API on a real PostgreSQL: roles, the derived day, an acknowledgement, an export, hostile input."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api import fleet
from tests.api.conftest import make_app, migrated, token_for
from tests.api.hostile import assert_never_500

V1 = "/api/v1"


@pytest.fixture
def pg_client(postgres_url: str, tmp_path: Path) -> Iterator[TestClient]:
    engine: Engine = migrated(postgres_url)
    fleet.build(engine)
    with TestClient(make_app(engine, tmp_path)) as client:
        yield client
    engine.dispose()


def use(client: TestClient, name: str) -> TestClient:
    client.headers["Authorization"] = f"Bearer {token_for(client, name)}"
    return client


def test_api_on_postgresql(pg_client: TestClient) -> None:
    town = use(pg_client, "town-hl")
    assert sorted(s["id"] for s in town.get(f"{V1}/stations").json()) == ["hl-01", "hl-02"]
    assert town.get(f"{V1}/stations/nh-01/days/2026-10-09").status_code == 404
    day = town.get(f"{V1}/stations/hl-02/days/2026-10-09").json()
    assert day["verdict"] == "closed" and [s["state"] for s in day["timeline"]] == ["closed", "closed"]
    assert town.get(f"{V1}/exports/stations/hl-02/assessment/2026").status_code == 200
    dispatch = use(pg_client, "dispatch")
    call = dispatch.get(f"{V1}/alerts").json()[0]
    assert dispatch.post(f"{V1}/alerts/{call['id']}/acknowledge").json()["status"] == "acknowledged"
    assert assert_never_500(use(pg_client, "admin")) > 300
