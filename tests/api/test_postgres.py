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


def test_admin_and_appeals_on_postgresql(pg_client: TestClient) -> None:
    admin = use(pg_client, "admin")
    made = admin.post(f"{V1}/users", json={"name": "staff-hl2", "role": "station", "station": "hl-02",
                                           "password": "a-long-password"})
    assert made.status_code == 201, made.text
    station = {"station_id": "hl-03", "name": "汇龙三站", "town": "汇龙镇", "grade": "3A", "weekdays": "1-5",
               "hours": "08:30-11:30"}
    assert admin.post(f"{V1}/registry/stations", json=station).status_code == 201
    assert admin.put(f"{V1}/registry/stations/hl-03", json={**station, "grade": "4A"}).json()["grade"] == "4A"
    staff = pg_client
    staff.headers["Authorization"] = f"Bearer {token_for(pg_client, 'staff-hl2', 'a-long-password')}"
    plan = staff.get(f"{V1}/appeals/checks").json()[0]["plan_id"]
    appeal = staff.post(f"{V1}/appeals", json={"plan_id": plan, "text": "停电"}).json()
    assert staff.post(f"{V1}/appeals", json={"plan_id": plan, "text": "再来"}).status_code == 409
    town = use(pg_client, "town-hl")
    assert town.post(f"{V1}/appeals/{appeal['id']}/decide",
                     json={"outcome": "upheld", "reason": "属实"}).json()["status"] == "upheld"
    vetoes = {v["station"]: v["failed"] for v in town.get(f"{V1}/spot-checks/vetoes?year=2026").json()}
    assert vetoes["hl-02"] == 0
    log = use(pg_client, "admin").get(f"{V1}/audit").json()
    assert [e["action"] for e in reversed(log)] == ["user.add", "station.add", "station.edit", "appeal.file",
                                                    "appeal.decide"]
    assert log[2]["after"] == {"grade": "4A"}
