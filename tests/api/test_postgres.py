"""A subset of the API on a real PostgreSQL: roles, the derived day, an acknowledgement, an export, hostile input."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from eldercare.cli import cli
from tests.api import audit_month, edge_times, fleet
from tests.api.conftest import make_app, migrated, settings_for, token_for
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


def test_dates_and_times_at_the_calendars_edge_are_422_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    engine: Engine = migrated(postgres_url)
    edge_times.build(engine)
    with TestClient(make_app(engine, tmp_path), raise_server_exceptions=False) as client:
        assert edge_times.assert_edges_refused(client) > 80
    engine.dispose()


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


def test_an_audit_from_the_evidence_export_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """The evidence export's query streamed from PostgreSQL (a server-side cursor), and `cloud derive` on it gives the
    worker's stored days of the month of tests/api/audit_month.py, and its veto."""
    engine: Engine = migrated(postgres_url)
    audit_month.build(engine)
    app = create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: audit_month.NOW), engine=engine)
    span = {"from": "2025-10-01", "to": "2025-10-31"}
    with TestClient(app) as client:
        admin = use(client, "admin")
        files = {}
        for name, path in (("events", "events.jsonl"), ("stations", "station.csv"), ("spot-checks", "spot-checks.csv"),
                           ("time-checks", "time-checks.csv")):
            response = admin.get(f"{V1}/exports/stations/hl-02/{path}", params=span)
            assert response.status_code == 200, response.text
            files[name] = tmp_path / path
            files[name].write_bytes(response.content)
        exceptions = admin.get(f"{V1}/closures/exceptions.csv", params=span)
        files["exceptions"] = tmp_path / "exceptions.csv"
        files["exceptions"].write_bytes(exceptions.content)
        losses = admin.get(f"{V1}/exports/ingest-losses.csv", params=span)
        files["losses"] = tmp_path / "losses.csv"
        files["losses"].write_bytes(losses.content)
        stored = {d: admin.get(f"{V1}/stations/hl-02/days/{d}").json() for d in
                  (f"2025-10-{n:02d}" for n in range(1, 32))}
        veto = admin.get(f"{V1}/spot-checks/vetoes", params={"year": 2025}).json()
    engine.dispose()
    args = ["cloud", "derive", "--from", span["from"], "--to", span["to"]]
    for option, file in files.items():
        args += [f"--{option}", str(file)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    days = {ln["date"]: ln for ln in lines if ln["type"] == "day"}
    assert len(days) == 31 and "late_evidence" in days["2025-10-23"]["flags"]
    assert "platform_lost_messages" in days["2025-10-27"]["flags"]
    assert "clock_unanswered" in days["2025-10-30"]["flags"]  # the time checks read from the export
    for day, line in days.items():
        assert {k: stored[day].get(k) for k in line} == line, day
    # No decision or appeal yet: the bureau's checks as the sensors judged them (the town's own of the 21st not).
    audit = next(ln for ln in lines if ln["type"] == "veto")
    assert audit["failed_dates"] == ["2025-10-15", "2025-10-16", "2025-10-20"]
    assert [(v["failed_dates"], v["veto"]) for v in veto if v["station"] == "hl-02"] == \
        [(audit["failed_dates"], audit["veto"])]
