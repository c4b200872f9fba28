"""A plan says whose check it is: the bureau's count toward the veto, a town's own checks are its supervision."""

from collections.abc import Callable

from fastapi.testclient import TestClient

V1 = "/api/v1"


def test_a_plan_records_whether_the_bureau_or_a_town_made_it(as_user: Callable[[str], TestClient]) -> None:
    body = {"date": "2026-10-14", "start": "09:00", "end": "10:00", "stations": ["hl-01"]}
    town = as_user("town-hl").post(f"{V1}/spot-checks", json=body)
    assert town.status_code == 201 and town.json()["planner_role"] == "town"
    bureau = as_user("admin").post(f"{V1}/spot-checks", json=body)
    assert bureau.status_code == 201 and bureau.json()["planner_role"] == "bureau"
    listed = {p["id"]: p["planner_role"] for p in as_user("admin").get(f"{V1}/spot-checks").json()}
    assert listed == {town.json()["id"]: "town", bureau.json()["id"]: "bureau"}
