"""Stations and users managed through the API: the bureau adds and edits stations (the CSV import's validation),
imports the CSV (one line per bad row) and manages users of every role; a town manages its own stations' staff
only; station staff and dispatch manage nothing. Every change is in the audit log, which only the bureau reads;
passwords are never returned nor logged."""

import logging
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD

V1 = "/api/v1"
NEW = {"station_id": "hl-03", "name": "汇龙三站", "town": "汇龙镇", "grade": "3A", "weekdays": "1-5",
       "hours": "08:30-11:30 13:30-17:00", "address": "汇龙镇三号路"}


def _users(client: TestClient) -> dict[str, dict[str, object]]:
    return {u["name"]: u for u in client.get(f"{V1}/users").json()}


def test_the_bureau_adds_and_edits_a_station_with_the_import_rules(as_user: Callable[[str], TestClient]) -> None:
    admin = as_user("admin")
    made = admin.post(f"{V1}/registry/stations", json=NEW)
    assert made.status_code == 201, made.text
    assert made.json() | {} == {**NEW, "weekdays": "1,2,3,4,5", "open_on_holidays": False,
                                "timezone": "Asia/Shanghai", "kind": "station"}
    assert admin.post(f"{V1}/registry/stations", json=NEW).status_code == 409
    # It is a station like the imported ones: listed, with today's state, to the bureau and its town.
    assert "hl-03" in {s["id"] for s in as_user("town-hl").get(f"{V1}/stations").json()}
    admin = as_user("admin")
    # The same reasons as the CSV import, word for word.
    bad = {
        "grade": ("6A", "grade must be one of 2A, 3A, 4A, 5A (got '6A')"),
        "hours": ("17:00-08:30", "17:00-08:30"),
        "weekdays": ("8", "8"),
        "name": ("", "name is empty"),
        "timezone": ("Mars/Olympus", "Mars/Olympus"),
    }
    for field, (value, reason) in bad.items():
        response = admin.put(f"{V1}/registry/stations/hl-03", json={**NEW, field: value})
        assert response.status_code == 422 and reason in response.json()["detail"], (field, response.text)
    bad_id = admin.post(f"{V1}/registry/stations", json={**NEW, "station_id": "HL 03"})
    assert bad_id.status_code == 422 and "station_id" in bad_id.json()["detail"]
    edited = admin.put(f"{V1}/registry/stations/hl-03",
                       json={**NEW, "grade": "4A", "hours": "08:00-12:00", "open_on_holidays": True})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["grade"], edited.json()["hours"], edited.json()["open_on_holidays"]) == (
        "4A", "08:00-12:00", True)
    assert admin.put(f"{V1}/registry/stations/nope-01", json=NEW).status_code == 404
    log = admin.get(f"{V1}/audit?target=hl-03").json()
    assert [(e["action"], e["actor"]) for e in log] == [("station.edit", "admin"), ("station.add", "admin")]
    assert log[0]["before"] == {"grade": "3A", "hours": "08:30-11:30 13:30-17:00", "open_on_holidays": False}
    assert log[0]["after"] == {"grade": "4A", "hours": "08:00-12:00", "open_on_holidays": True}
    assert log[1]["before"] is None and log[1]["after"]["name"] == "汇龙三站"


def test_csv_import_from_the_page_reports_one_line_per_bad_row(as_user: Callable[[str], TestClient]) -> None:
    admin = as_user("admin")
    text = ("\ufeffstation_id,name,town,grade,weekdays,hours\n"
            "hl-01,汇龙一站（改名）,汇龙镇,3A,1-5,08:30-11:30 13:30-17:00\n"
            "hl-09,汇龙九站,汇龙镇,9A,1-5,08:30-11:30\n"
            "nh-09,南阳九站,南阳镇,2A,1-6,08:00-11:00\n"
            "nh-10,,南阳镇,2A,1-5,08:00-11:00\n")
    done = admin.post(f"{V1}/registry/stations/import", content=text.encode("utf-8"),
                      headers={"Content-Type": "text/csv"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["added"], body["updated"], body["unchanged"]) == (1, 1, 0)
    assert body["problems"] == ["line 3: grade must be one of 2A, 3A, 4A, 5A (got '9A')", "line 5: name is empty"]
    names = {s["station_id"]: s["name"] for s in admin.get(f"{V1}/registry/stations").json()}
    assert names["hl-01"] == "汇龙一站（改名）" and names["nh-09"] == "南阳九站" and "hl-09" not in names
    again = admin.post(f"{V1}/registry/stations/import", content=text.encode("utf-8"),
                       headers={"Content-Type": "text/csv"}).json()
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 2)
    gbk = admin.post(f"{V1}/registry/stations/import", content=b"station_id,name\n" + "汇龙".encode("gbk"),
                     headers={"Content-Type": "text/csv"})
    assert gbk.status_code == 422 and "not UTF-8" in gbk.json()["detail"]
    log = admin.get(f"{V1}/audit?target_kind=station").json()
    assert sorted((e["action"], e["target"]) for e in log) == [("station.import", "hl-01"),
                                                               ("station.import", "nh-09")]
    changed = next(e for e in log if e["target"] == "hl-01")
    assert (changed["before"]["name"], changed["after"]["name"]) == ("汇龙一站", "汇龙一站（改名）")


def test_only_the_bureau_manages_stations_and_reads_the_audit_log(as_user: Callable[[str], TestClient]) -> None:
    for user in ("town-hl", "staff-hl1", "dispatch"):
        client = as_user(user)
        assert client.get(f"{V1}/registry/stations").status_code == 403, user
        assert client.post(f"{V1}/registry/stations", json=NEW).status_code == 403, user
        assert client.put(f"{V1}/registry/stations/hl-01", json=NEW).status_code == 403, user
        assert client.post(f"{V1}/registry/stations/import", content=b"station_id\n",
                           headers={"Content-Type": "text/csv"}).status_code == 403, user
        assert client.get(f"{V1}/audit").status_code == 403, user
    client = as_user("admin")
    client.headers.pop("Authorization")
    assert client.get(f"{V1}/audit").status_code == 401
    assert client.get(f"{V1}/users").status_code == 401


def test_the_bureau_manages_users_of_every_role(as_user: Callable[[str], TestClient],
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    admin = as_user("admin")
    secret = "a-new-secret-pass"
    for name, role, extra in (("li-town", "town", {"towns": ["南阳镇"]}), ("li-staff", "station", {"station": "hl-02"}),
                              ("li-dispatch", "dispatch", {}), ("li-bureau", "bureau", {})):
        made = admin.post(f"{V1}/users", json={"name": name, "role": role, "password": secret, **extra})
        assert made.status_code == 201, made.text
        assert "password" not in made.text and "hash" not in made.text
    users = _users(admin)
    assert {n: u["role"] for n, u in users.items() if n.startswith("li-")} == {
        "li-town": "town", "li-staff": "station", "li-dispatch": "dispatch", "li-bureau": "bureau"}
    assert users["li-town"]["towns"] == ["南阳镇"] and users["li-staff"]["station"] == "hl-02"
    # The command line's rules.
    for body, status in (
        ({"name": "x", "role": "town", "password": secret}, 422),  # a town officer without towns
        ({"name": "x", "role": "station", "password": secret}, 422),
        ({"name": "x", "role": "bureau", "password": secret, "station": "hl-01"}, 422),
        ({"name": "x", "role": "station", "password": secret, "station": "zz-99"}, 422),  # not registered
        ({"name": "x", "role": "town", "password": secret, "towns": ["汇龙镇", "不存在镇"]}, 422),  # nor this town
        ({"name": "x", "role": "bureau", "password": "short"}, 422),
        ({"name": " x", "role": "bureau", "password": secret}, 422),
        ({"name": "li-town", "role": "bureau", "password": secret}, 409),
        ({"name": "x", "role": "root", "password": secret}, 422),
    ):
        response = admin.post(f"{V1}/users", json=body)
        assert response.status_code == status, (body, response.text)
    short = admin.post(f"{V1}/users", json={"name": "x", "role": "bureau", "password": "short"})
    assert "at least 8 characters" in short.json()["detail"]
    unknown = admin.post(f"{V1}/users", json={"name": "x", "role": "town", "password": secret, "towns": ["不存在镇"]})
    assert unknown.json()["detail"] == "no registered station is in town '不存在镇'"

    # The new officer logs in and sees their town.
    town = as_user("admin")
    token = town.post(f"{V1}/auth/token", data={"username": "li-town", "password": secret}).json()["access_token"]
    me = town.get(f"{V1}/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["role"] == "town"
    # Change town; change role; disable revokes the token at once; enable does not bring it back.
    admin = as_user("admin")
    tid = users["li-town"]["id"]
    moved = admin.patch(f"{V1}/users/{tid}", json={"towns": ["汇龙镇", "南阳镇"]})
    assert moved.status_code == 200 and moved.json()["towns"] == ["南阳镇", "汇龙镇"]
    assert admin.post(f"{V1}/users/{tid}/disable").json()["active"] is False
    assert town.get(f"{V1}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert town.post(f"{V1}/auth/token", data={"username": "li-town", "password": secret}).status_code == 401
    admin = as_user("admin")
    assert admin.post(f"{V1}/users/{tid}/enable").json()["active"] is True
    assert town.get(f"{V1}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    promoted = admin.patch(f"{V1}/users/{tid}", json={"role": "bureau"})
    assert promoted.status_code == 200 and (promoted.json()["role"], promoted.json()["towns"]) == ("bureau", [])
    assert admin.patch(f"{V1}/users/{tid}", json={"role": "station"}).status_code == 422  # no station given
    # A password reset: the old password and the old token stop working; the new one works.
    sid = users["li-staff"]["id"]
    staff = as_user("admin")
    old = staff.post(f"{V1}/auth/token", data={"username": "li-staff", "password": secret}).json()["access_token"]
    admin = as_user("admin")
    assert admin.post(f"{V1}/users/{sid}/password", json={"password": "short"}).status_code == 422
    reset = admin.post(f"{V1}/users/{sid}/password", json={"password": "another-long-pass"})
    assert reset.status_code == 200 and "another-long-pass" not in reset.text
    assert staff.get(f"{V1}/auth/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert staff.post(f"{V1}/auth/token", data={"username": "li-staff", "password": secret}).status_code == 401
    assert staff.post(f"{V1}/auth/token", data={"username": "li-staff",
                                                "password": "another-long-pass"}).status_code == 200
    # The bureau cannot lock itself out.
    admin = as_user("admin")
    me_id = _users(admin)["admin"]["id"]
    assert admin.post(f"{V1}/users/{me_id}/disable").status_code == 409
    assert admin.patch(f"{V1}/users/{me_id}", json={"role": "town", "towns": ["汇龙镇"]}).status_code == 409
    # Every change audited; no password anywhere in the log or the server's log lines.
    log = admin.get(f"{V1}/audit?target_kind=user").json()
    actions = [(e["action"], e["target"]) for e in reversed(log)]
    assert actions == [("user.add", "li-town"), ("user.add", "li-staff"), ("user.add", "li-dispatch"),
                       ("user.add", "li-bureau"), ("user.change", "li-town"), ("user.disable", "li-town"),
                       ("user.enable", "li-town"), ("user.change", "li-town"), ("user.password", "li-staff")]
    change = next(e for e in log if e["action"] == "user.change" and e["after"].get("role") == "bureau")
    assert change["before"] == {"role": "town", "towns": ["南阳镇", "汇龙镇"]}
    assert change["after"] == {"role": "bureau", "towns": []}
    dump = admin.get(f"{V1}/audit").text
    for text in (secret, "another-long-pass", "argon", "$2b$"):
        assert text not in dump and text not in caplog.text, text


def test_a_town_manages_its_own_stations_staff_only(as_user: Callable[[str], TestClient]) -> None:
    town = as_user("town-hl")
    assert set(_users(town)) == {"staff-hl1"}  # not nh-01's staff, not itself, not the bureau or dispatch
    made = town.post(f"{V1}/users", json={"name": "hl2-zhao", "role": "station", "station": "hl-02",
                                          "password": PASSWORD})
    assert made.status_code == 201, made.text
    for body in ({"name": "x", "role": "station", "station": "nh-01", "password": PASSWORD},  # another town's
                 {"name": "x", "role": "town", "towns": ["汇龙镇"], "password": PASSWORD},
                 {"name": "x", "role": "bureau", "password": PASSWORD}):
        response = town.post(f"{V1}/users", json=body)
        assert response.status_code in (403, 422), (body, response.text)
        assert response.status_code == (422 if body["role"] == "station" else 403)
    admin_ids = {n: u["id"] for n, u in _users(as_user("admin")).items()}
    town = as_user("town-hl")
    for other in ("staff-nh1", "admin", "dispatch", "town-hl"):
        assert town.post(f"{V1}/users/{admin_ids[other]}/disable").status_code == 404, other
        assert town.post(f"{V1}/users/{admin_ids[other]}/password",
                         json={"password": "another-long-pass"}).status_code == 404, other
        assert town.patch(f"{V1}/users/{admin_ids[other]}", json={"station": "hl-02"}).status_code == 404, other
    mine = made.json()["id"]
    assert town.patch(f"{V1}/users/{mine}", json={"station": "hl-01"}).json()["station"] == "hl-01"
    assert town.patch(f"{V1}/users/{mine}", json={"station": "nh-02"}).status_code == 422
    assert town.patch(f"{V1}/users/{mine}", json={"role": "town", "towns": ["汇龙镇"]}).status_code == 403
    assert town.post(f"{V1}/users/{mine}/disable").json()["active"] is False
    assert town.post(f"{V1}/users/{mine}/password", json={"password": "another-long-pass"}).status_code == 200
    log = as_user("admin").get(f"{V1}/audit?actor=town-hl").json()
    assert [e["action"] for e in reversed(log)] == ["user.add", "user.change", "user.disable", "user.password"]


def test_station_staff_and_dispatch_manage_no_one(as_user: Callable[[str], TestClient]) -> None:
    ids = {n: u["id"] for n, u in _users(as_user("admin")).items()}
    for user in ("staff-hl1", "dispatch"):
        client = as_user(user)
        assert client.get(f"{V1}/users").status_code == 403, user
        assert client.post(f"{V1}/users", json={"name": "x", "role": "station", "station": "hl-01",
                                                "password": PASSWORD}).status_code == 403
        assert client.post(f"{V1}/users/{ids['staff-hl1']}/password",
                           json={"password": "another-long-pass"}).status_code == 403
        assert client.post(f"{V1}/users/{ids['staff-hl1']}/disable").status_code == 403
