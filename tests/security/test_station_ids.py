"""A station named like one of the platform's services (`eldercare-ingest` reads every station's messages) or a
protocol word is refused everywhere a station id comes in: the CSV import, provisioning, the API and topics."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloud.registry.csv_rows import parse_station_csv
from eldercare.groups import cloud
from station_protocol.errors import ProtocolError
from station_protocol.ids import station_id_problem
from station_protocol.topics import parse_topic

RESERVED = ["eldercare-ingest", "eldercare-worker", "eldercare-anything", "eldercare", "agent", "cmd"]


@pytest.mark.parametrize("station", RESERVED)
def test_the_one_rule_gives_the_reason(station: str) -> None:
    problem = station_id_problem(station)
    assert problem is not None and station in problem
    assert "reserved" in problem


def test_ordinary_ids_pass() -> None:
    assert station_id_problem("qd-huilong-01") is None
    assert station_id_problem("my-eldercare-01") is None  # only the prefix is the services'


def test_csv_row_named_like_the_ingester_is_refused_with_its_line() -> None:
    text = ("station_id,name,town,grade,weekdays,hours\nqd-a,A,T,3A,1-5,08:00-12:00\n"
            "eldercare-ingest,假站,T,3A,1-5,08:00-12:00\nqd-b,B,T,3A,1-5,08:00-12:00\n")
    records, problems = parse_station_csv(text)
    assert [r.id for r in records] == ["qd-a", "qd-b"]
    assert [p.line for p in problems] == [3]
    assert "eldercare-ingest" in str(problems[0]) and "reserved for the platform's own services" in str(problems[0])


def test_provision_refuses_the_ingesters_name_and_hands_out_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cloud, ["provision", "station", "eldercare-ingest", "--out", str(tmp_path / "broker"),
                                   "--config-dir", str(tmp_path / "configs"), "--json"])
    assert result.exit_code == 1
    assert "reserved for the platform's own services" in result.output
    assert not (tmp_path / "broker").exists()  # no password printed, none written
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.output)


def test_provision_broker_refuses_a_reserved_station_in_its_list(tmp_path: Path) -> None:
    csv = tmp_path / "stations.csv"
    csv.write_text("station_id,name,town,grade,weekdays,hours\neldercare-worker,W,T,3A,1-5,08:00-12:00\n")
    result = CliRunner().invoke(cloud, ["provision", "broker", "--out", str(tmp_path / "broker"),
                                        "--stations", str(csv)])
    assert result.exit_code == 1 and "eldercare-worker" in result.output
    assert not (tmp_path / "broker" / "credentials").exists()


def test_station_staff_cannot_be_attached_to_a_reserved_station(tmp_path: Path) -> None:
    from cloud.users_cli import users

    result = CliRunner().invoke(users, ["add", "mole", "--role", "station", "--station", "eldercare-ingest",
                                        "--data-dir", str(tmp_path)], input="a-long-password\n")
    assert result.exit_code == 1 and "reserved for the platform's own services" in result.output


def test_topics_of_a_reserved_station_are_refused() -> None:
    with pytest.raises(ProtocolError, match="reserved"):
        parse_topic("eldercare/v1/eldercare-ingest/door-1/door")


def test_api_refuses_a_reserved_station_id_with_the_reason(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tests.api.conftest import make_app, migrated, token_for

    engine = migrated(f"sqlite:///{tmp_path / 'api.db'}")
    with TestClient(make_app(engine, tmp_path)) as client:
        client.headers["Authorization"] = f"Bearer {token_for(client, 'admin')}"
        day = client.get("/api/v1/stations/eldercare-ingest/days/2026-10-12")
        body = {"station": "eldercare-ingest", "day": "2026-10-12", "theme": "t", "participants": 1}
        activity = client.post("/api/v1/activities", json=body)
    engine.dispose()
    for answer in (day, activity):
        assert answer.status_code == 422
        assert "reserved for the platform's own services" in answer.text
