from collections.abc import Callable

from fastapi.testclient import TestClient

V1 = "/api/v1"


def test_bureau_plans_and_lists_spot_checks(fleet_as: Callable[[str], TestClient]) -> None:
    admin = fleet_as("admin")
    plans = admin.get(f"{V1}/spot-checks").json()
    assert len(plans) == 1 and plans[0]["results"] == {"pass": 2, "fail": 1, "unverifiable": 1}
    made = admin.post(f"{V1}/spot-checks", json={"date": "2026-10-14", "start": "09:00", "end": "10:30",
                                                  "town": "南阳镇"})
    assert made.status_code == 201, made.text
    assert (made.json()["scope"], made.json()["stations"], made.json()["created_by"]) == (
        "town", ["nh-01", "nh-02"], "admin")
    drawn = admin.post(f"{V1}/spot-checks", json={"date": "2026-10-15", "start": "14:00", "end": "15:00",
                                                   "sample": 2, "seed": 42}).json()
    again = admin.post(f"{V1}/spot-checks", json={"date": "2026-10-16", "start": "14:00", "end": "15:00",
                                                   "sample": 2, "seed": 42}).json()
    assert drawn["seed"] == 42 and len(drawn["stations"]) == 2 and drawn["stations"] == again["stations"]
    assert admin.get(f"{V1}/spot-checks/{made.json()['id']}").json()["stations"] == ["nh-01", "nh-02"]
    assert len(admin.get(f"{V1}/spot-checks?year=2026").json()) == 4


def test_bad_plans_are_422(fleet_as: Callable[[str], TestClient]) -> None:
    admin = fleet_as("admin")
    bad = [
        {"date": "2026-10-14", "start": "10:00", "end": "09:00"},
        {"date": "2026-10-14", "start": "09:00", "end": "10:00", "town": "没有这个镇"},
        {"date": "2026-10-14", "start": "09:00", "end": "10:00", "stations": ["nope"]},
        {"date": "2026-02-30", "start": "09:00", "end": "10:00"},
        {"date": "2026-10-14", "start": "25:00", "end": "26:00"},
        {"date": "2026-10-14", "start": "09:00", "end": "10:00", "sample": 10**9},
        {"date": "2026-10-14", "start": "09:00", "end": "10:00", "extra": 1},
    ]
    for body in bad:
        response = admin.post(f"{V1}/spot-checks", json=body)
        assert response.status_code == 422, (body, response.status_code, response.text)


def test_plans_are_hidden_from_stations_and_scoped_for_towns(fleet_as: Callable[[str], TestClient]) -> None:
    plan_id = fleet_as("admin").get(f"{V1}/spot-checks").json()[0]["id"]
    for user in ("staff-hl1", "staff-nh1", "dispatch"):
        client = fleet_as(user)
        assert client.get(f"{V1}/spot-checks").status_code == 403, user
        assert client.get(f"{V1}/spot-checks/{plan_id}").status_code == 403, user
        body = {"date": "2026-10-14", "start": "09:00", "end": "10:00"}
        assert client.post(f"{V1}/spot-checks", json=body).status_code == 403, user
    # A town sees the bureau's plan as far as its own stations go, and their results only.
    town_plans = fleet_as("town-hl").get(f"{V1}/spot-checks").json()
    assert [(p["stations"], p["results"]) for p in town_plans] == [(["hl-01", "hl-02"], {"pass": 1, "fail": 1})]
    assert fleet_as("town-hl").get(f"{V1}/spot-checks/{plan_id}").json()["stations"] == ["hl-01", "hl-02"]
    assert fleet_as("dispatch").get(f"{V1}/spot-checks/results").status_code == 403
    for user in ("staff-hl1", "dispatch"):
        assert fleet_as(user).get(f"{V1}/spot-checks/vetoes").status_code == 403
    town = fleet_as("town-hl").get(f"{V1}/spot-checks/results?year=2026").json()
    assert sorted((r["station"], r["result"]) for r in town) == [("hl-01", "pass"), ("hl-02", "fail")]
    assert town[0]["start"] == "09:00" and town[0]["checked_minutes"] == 60
    every = fleet_as("admin").get(f"{V1}/spot-checks/results?result=fail").json()
    assert [(r["station"], r["reason"].split(" (")[0]) for r in every] == [("hl-02", "closed during working hours")]
    assert [r["reason_code"] for r in every] == ["closed"]  # the stable code a client translates
    vetoes = {v["station"]: v for v in fleet_as("town-hl").get(f"{V1}/spot-checks/vetoes?year=2026").json()}
    assert set(vetoes) == {"hl-01", "hl-02"}
    assert (vetoes["hl-02"]["failed"], vetoes["hl-02"]["veto"], vetoes["hl-02"]["failed_dates"]) == (
        1, False, ["2026-10-09"])
