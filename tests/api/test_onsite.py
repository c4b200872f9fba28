"""On-site spot checks through the API, per role: the visits a plan becomes, the inspector's record beside the
sensor verdict, the bureau's decision as the only way a record changes what counts (through to the veto and the
annual assessment), towns planning their own checks, the quarter's coverage, and what station staff never see.

The fleet's plan: every station on 2026-10-09 09:00-10:00 (hl-01 and nh-02 pass, hl-02 fails, nh-01 is
unverifiable: its devices are off). Now is 2026-10-12 10:00 China time.
"""

from datetime import date, time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cloud.api.security import hash_password
from cloud.derive.decisions import read_decisions
from cloud.derive.plans import create_plan
from cloud.derive.recompute import recompute_station
from cloud.rules.config import RulesConfig
from cloud.rules.spotcheck import SpotResult
from cloud.store.db import make_session_factory
from cloud.store.models import Alert, Station
from cloud.store.users import User, UserTown
from tests.api import fleet
from tests.api.conftest import PASSWORD, make_app, migrated, token_for
from tests.api.fleet import DAYS, NOW, TODAY
from tests.api.hostile import NASTY

V1 = "/api/v1"
AT = "2026-10-09T09:30:00+08:00"


class Api:
    """One client, a token per user (a fresh login each time would hit the login limits)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    def _headers(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            self.tokens[user] = token_for(self.client, user)
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: str, path: str, expect: int = 200) -> Any:
        response = self.client.get(V1 + path, headers=self._headers(user))
        assert response.status_code == expect, (user, path, response.status_code, response.text)
        return response.json() if "json" in response.headers.get("content-type", "") else response.text

    def post(self, user: str, path: str, body: dict[str, Any], expect: int = 200) -> Any:
        response = self.client.post(V1 + path, json=body, headers=self._headers(user))
        assert response.status_code == expect, (user, path, response.status_code, response.text)
        return response.json()


def _plan_id(api: Api) -> int:
    return int(api.get("admin", "/spot-checks")[0]["id"])


def _veto(api: Api, station: str) -> tuple[int, list[str]]:
    veto = next(v for v in api.get("admin", "/spot-checks/vetoes?year=2026") if v["station"] == station)
    return veto["failed"], veto["failed_dates"]


def _assessed_failures(api: Api, station: str) -> int:
    row = next(r for r in api.get("admin", "/assessments/2026") if r["station"] == station)
    return int(row["failed_spot_checks"])


def _staff_results(api: Api, user: str) -> list[tuple[str, str]]:
    return [(r["station"], r["result"]) for r in api.get(user, "/spot-checks/results")]


def test_a_plan_becomes_visits_scoped_by_role(fleet_client: TestClient) -> None:
    api = Api(fleet_client)
    plan = _plan_id(api)
    visits = {v["station"]: v for v in api.get("admin", "/onsite/visits")}
    assert {s: (v["sensor_result"], v["review"]) for s, v in visits.items()} == {
        "hl-01": ("pass", "sensor"), "hl-02": ("fail", "sensor"), "nh-01": ("unverifiable", "needs_visit"),
        "nh-02": ("pass", "sensor")}
    assert visits["hl-01"]["address"] and visits["hl-01"]["start"] == "09:00" and visits["hl-01"]["onsite"] is None
    # The town's task: the check its station's sensors could not settle.
    assert [v["station"] for v in api.get("admin", "/onsite/visits?review=needs_visit")] == ["nh-01"]
    assert sorted(v["station"] for v in api.get("town-hl", "/onsite/visits")) == ["hl-01", "hl-02"]
    api.get("town-hl", f"/onsite/visits/{plan}/nh-01", 404)
    api.post("town-hl", f"/onsite/visits/{plan}/nh-01/record", {"found": "open", "visited_at": AT}, 404)
    api.get("admin", f"/onsite/visits/{plan}/no-such", 404)
    api.get("admin", f"/onsite/visits/{plan + 99}/hl-01", 404)
    # Station staff and dispatch reach no plan, visit, record, decision, coverage or decision file.
    for user in ("staff-hl1", "staff-nh1", "dispatch"):
        for path in ("/onsite/visits", f"/onsite/visits/{plan}/hl-01", "/onsite/coverage", "/onsite/decisions.csv",
                     "/spot-checks", f"/spot-checks/{plan}"):
            api.get(user, path, 403)
        api.post(user, f"/onsite/visits/{plan}/hl-01/record", {"found": "open", "visited_at": AT}, 403)
        api.post(user, f"/onsite/visits/{plan}/hl-01/decision", {"outcome": "pass", "reason": "x"}, 403)


def test_a_record_that_agrees_needs_no_decision(fleet_client: TestClient) -> None:
    api = Api(fleet_client)
    plan = _plan_id(api)
    visit = api.post("town-hl", f"/onsite/visits/{plan}/hl-02/record",
                     {"found": "closed", "notes": "门上挂锁，无人", "visited_at": AT}, 201)
    assert (visit["review"], visit["result"], visit["onsite"]["recorded_by"]) == ("agreed", "fail", "town-hl")
    assert visit["onsite"]["visited_at"].startswith("2026-10-09T01:30")  # stored in UTC
    api.post("admin", f"/onsite/visits/{plan}/hl-02/decision", {"outcome": "pass", "reason": "x"}, 409)
    # One record per visit: a second one (the same inspector, or another) is refused, the first one stands.
    api.post("admin", f"/onsite/visits/{plan}/hl-02/record", {"found": "open", "visited_at": AT}, 409)
    assert api.get("admin", f"/onsite/visits/{plan}/hl-02")["onsite"]["found"] == "closed"
    assert _veto(api, "hl-02") == (1, ["2026-10-09"])


def test_a_record_overrides_the_sensors_only_through_the_bureau(fleet_client: TestClient,
                                                                  fleet_engine: Engine) -> None:
    api = Api(fleet_client)
    plan = _plan_id(api)
    assert _veto(api, "hl-01") == (0, []) and _staff_results(api, "staff-hl1") == [("hl-01", "pass")]
    # The sensors say open (a door propped open, a counter fed); the town's inspector found it shut.
    disputed = api.post("town-hl", f"/onsite/visits/{plan}/hl-01/record",
                        {"found": "closed", "notes": "大门紧锁，电话无人接", "visited_at": AT}, 201)
    assert (disputed["review"], disputed["sensor_result"], disputed["result"]) == ("disputed", "pass", "pass")
    # The record alone changes nothing that counts; the station's own result is withdrawn until decided.
    assert _veto(api, "hl-01") == (0, []) and _assessed_failures(api, "hl-01") == 0
    assert _staff_results(api, "staff-hl1") == []
    # Neither the town nor the station can settle it.
    api.post("town-hl", f"/onsite/visits/{plan}/hl-01/decision", {"outcome": "fail", "reason": "本镇核实"}, 403)
    api.post("staff-hl1", f"/onsite/visits/{plan}/hl-01/decision", {"outcome": "pass", "reason": "我们开着"}, 403)
    api.post("admin", f"/onsite/visits/{plan}/hl-01/decision", {"outcome": "unverifiable", "reason": "x"}, 422)
    api.post("admin", f"/onsite/visits/{plan}/hl-01/decision", {"outcome": "fail", "reason": ""}, 422)
    assert [v["station"] for v in api.get("admin", "/onsite/visits?review=disputed")] == ["hl-01"]

    decided = api.post("admin", f"/onsite/visits/{plan}/hl-01/decision",
                       {"outcome": "fail", "reason": "现场照片与门磁记录不符，以现场为准"})
    onsite = decided["onsite"]
    assert (decided["review"], decided["result"], decided["sensor_result"]) == ("decided", "fail", "pass")
    assert (onsite["decided_by"], onsite["sensor_at_decision"], onsite["decision_reason"]) == (
        "admin", "pass", "现场照片与门磁记录不符，以现场为准")
    api.post("admin", f"/onsite/visits/{plan}/hl-01/decision", {"outcome": "pass", "reason": "改主意"}, 409)
    # What counts: the veto figure, the assessment, the results list (filtered on the counted result).
    assert _veto(api, "hl-01") == (1, ["2026-10-09"]) and _assessed_failures(api, "hl-01") == 1
    failed = api.get("admin", "/spot-checks/results?result=fail")
    assert sorted((r["station"], r["sensor_result"], r["review"]) for r in failed) == [
        ("hl-01", "pass", "decided"), ("hl-02", "fail", "sensor")]
    assert _staff_results(api, "staff-hl1") == [("hl-01", "fail")]
    # The worker re-derives the day (late data, a rule change): the decision still counts.
    with make_session_factory(fleet_engine)() as session:
        station = session.get(Station, "hl-01")
        assert station is not None
        recompute_station(session, station, DAYS, TODAY, RulesConfig(), NOW)
        session.commit()
    assert _veto(api, "hl-01") == (1, ["2026-10-09"])
    assert api.get("admin", f"/onsite/visits/{plan}/hl-01")["sensor_result"] == "pass"
    # The export is the file `cloud derive --decisions` reads, scoped like its stations.
    decisions = read_decisions(api.get("admin", "/onsite/decisions.csv"))
    assert {k: (d.outcome, d.sensor_result, d.found) for k, d in decisions.items()} == {
        ("hl-01", date(2026, 10, 9), "09:00", "10:00"): (SpotResult.FAIL, "pass", "closed")}
    assert read_decisions(api.get("town-hl", "/onsite/decisions.csv"))
    response = fleet_client.get(V1 + "/onsite/decisions.csv", headers=api._headers("admin"))
    assert response.headers["content-type"].startswith("text/csv")


def test_a_failed_check_overturned_and_an_unverifiable_one_settled(fleet_client: TestClient,
                                                                    fleet_engine: Engine) -> None:
    api = Api(fleet_client)
    plan = _plan_id(api)
    # The sensors failed hl-02, an inspector found it open (a broken door magnet): the bureau passes it.
    api.post("admin", f"/onsite/visits/{plan}/hl-02/record", {"found": "open", "visited_at": AT}, 201)
    assert _veto(api, "hl-02") == (1, ["2026-10-09"])
    api.post("admin", f"/onsite/visits/{plan}/hl-02/decision", {"outcome": "pass", "reason": "门磁故障，现场正常开放"})
    assert _veto(api, "hl-02") == (0, []) and _assessed_failures(api, "hl-02") == 0
    # nh-01's devices were off: its town has the task of checking on site, as an alert and in its visits.
    with make_session_factory(fleet_engine)() as session:
        officer = User(name="town-nh", role="town", password_hash=hash_password(PASSWORD))
        officer.towns = [UserTown(town="南阳镇")]
        session.add(officer)
        session.commit()
    assert [v["station"] for v in api.get("town-nh", "/onsite/visits?review=needs_visit")] == ["nh-01"]
    tasks = [a for a in api.get("town-nh", "/alerts") if a["kind"] == "spot_check_unverifiable"]
    assert [(a["station"], a["status"]) for a in tasks] == [("nh-01", "raised")]
    # A record, even "open", is for the bureau to weigh.
    visit = api.post("admin", f"/onsite/visits/{plan}/nh-01/record",
                     {"found": "other", "notes": "开门但无工作人员", "visited_at": "2026-10-10T15:00:00+08:00"}, 201)
    assert visit["review"] == "disputed" and visit["result"] == "unverifiable"
    api.post("admin", f"/onsite/visits/{plan}/nh-01/decision", {"outcome": "excused", "reason": "停电，已核实"})
    assert _veto(api, "nh-01") == (0, [])
    with make_session_factory(fleet_engine)() as session:
        alert = session.scalars(select(Alert).where(Alert.cause_key == f"spot:{plan}:nh-01")).one()
        assert alert.status == "resolved" and "excused" in (alert.notes or "")
    assert _staff_results(api, "staff-nh1") == [("nh-01", "excused")]


def test_bad_records_are_refused(fleet_client: TestClient) -> None:
    api = Api(fleet_client)
    plan = _plan_id(api)
    path = f"/onsite/visits/{plan}/hl-01/record"
    for body in (
        {"found": "open", "visited_at": "2026-10-08T23:59:00+08:00"},  # before the planned day (China time)
        {"found": "open", "visited_at": "2026-10-12T11:00:00+08:00"},  # after now
        {"found": "open", "visited_at": "2026-10-09T09:30:00"},  # no zone: ambiguous
        {"found": "other", "notes": "  ", "visited_at": AT},  # other, without saying what
        {"found": "maybe", "visited_at": AT},
        {"found": "open", "notes": "x" * 2001, "visited_at": AT},
    ):
        api.post("admin", path, body, 422)
    assert api.get("admin", f"/onsite/visits/{plan}/hl-01")["onsite"] is None
    # Midnight China time on the planned day is 16:00 UTC the day before: accepted.
    ok = api.post("admin", path, {"found": "open", "visited_at": "2026-10-08T16:00:00Z"}, 201)
    assert ok["review"] == "agreed"
    # Without a time, the visit is now.
    now = api.post("admin", f"/onsite/visits/{plan}/nh-02/record", {"found": "open"}, 201)
    assert now["onsite"]["visited_at"].startswith("2026-10-12T02:00")


def test_towns_plan_checks_of_their_own_stations(fleet_client: TestClient) -> None:
    api = Api(fleet_client)
    made = api.post("town-hl", "/spot-checks", {"date": "2026-10-14", "start": "09:00", "end": "10:00",
                                                "town": "汇龙镇"}, 201)
    assert (made["scope"], made["stations"], made["created_by"]) == ("town", ["hl-01", "hl-02"], "town-hl")
    drawn = api.post("town-hl", "/spot-checks", {"date": "2026-10-15", "start": "14:00", "end": "15:00",
                                                 "town": "汇龙镇", "sample": 1, "seed": 7}, 201)
    assert drawn["seed"] == 7 and len(drawn["stations"]) == 1 and drawn["stations"][0].startswith("hl-")
    base = {"date": "2026-10-14", "start": "09:00", "end": "10:00"}
    api.post("town-hl", "/spot-checks", base, 403)  # all stations: the bureau's
    api.post("town-hl", "/spot-checks", {**base, "town": "南阳镇"}, 403)
    api.post("town-hl", "/spot-checks", {**base, "sample": 1}, 403)  # a draw from every town
    api.post("town-hl", "/spot-checks", {**base, "scope": "random", "sample": 1, "stations": ["hl-01"]}, 403)
    api.post("town-hl", "/spot-checks", {**base, "stations": ["nh-01"]}, 422)
    api.post("town-hl", "/spot-checks", {**base, "stations": ["hl-01", "nh-01"]}, 422)
    named = api.post("town-hl", "/spot-checks", {**base, "stations": ["hl-02"]}, 201)
    assert named["stations"] == ["hl-02"]
    api.post("staff-hl1", "/spot-checks", {**base, "town": "汇龙镇"}, 403)
    # The town's plans become its visits; the bureau sees them too.
    town_visits = api.get("town-hl", "/onsite/visits?from=2026-10-14")
    assert sorted((v["plan_id"], v["station"]) for v in town_visits) == sorted(
        [(made["id"], "hl-01"), (made["id"], "hl-02"), (drawn["id"], drawn["stations"][0]), (named["id"], "hl-02")])
    assert all(v["review"] == "pending" and v["planned_by"] == "town-hl" for v in town_visits)
    assert len(api.get("admin", "/spot-checks")) == 4


def test_quarter_coverage(fleet_client: TestClient, fleet_engine: Engine) -> None:
    api = Api(fleet_client)
    with make_session_factory(fleet_engine)() as session:  # a new station nobody has checked yet
        session.add(Station(id="hl-03", name="汇龙三站", town="汇龙镇", grade="2A", weekdays="1-5",
                            hours="08:30-11:30 13:30-17:00"))
        session.commit()
    plan = _plan_id(api)
    api.post("town-hl", "/spot-checks", {"date": "2026-10-14", "start": "09:00", "end": "10:00", "town": "汇龙镇"}, 201)
    api.post("town-hl", f"/onsite/visits/{plan}/hl-02/record", {"found": "closed", "visited_at": AT}, 201)
    now = api.get("admin", "/onsite/coverage")
    assert (now["quarter"], now["first_day"], now["last_day"]) == ("2026-Q4", "2026-10-01", "2026-12-31")
    towns = {t["town"]: t for t in now["towns"]}
    # hl-03 is in the town's own plan for the 14th, which has not happened yet: not checked.
    assert towns["汇龙镇"] == {"town": "汇龙镇", "stations": 3, "checked": 2, "visited": 1, "own_plans": 1,
                              "unchecked": ["hl-03"]}
    assert towns["南阳镇"] == {"town": "南阳镇", "stations": 2, "checked": 2, "visited": 0, "own_plans": 0,
                              "unchecked": []}
    stations = {s["station"]: s for s in now["stations"]}
    assert (stations["hl-02"]["checks"], stations["hl-02"]["visits"], stations["hl-02"]["last_checked"]) == (
        1, 1, "2026-10-09")
    assert stations["hl-03"]["last_checked"] is None
    town = api.get("town-hl", "/onsite/coverage?quarter=2026-Q4")
    assert [t["town"] for t in town["towns"]] == ["汇龙镇"] and len(town["stations"]) == 3
    earlier = api.get("admin", "/onsite/coverage?quarter=2026-Q3")
    assert all(t["checked"] == 0 for t in earlier["towns"]) and earlier["last_day"] == "2026-09-30"
    for bad in ("2026-Q5", "2026Q1", "26-Q1", "2026-Q4' OR 1=1"):
        api.get("admin", f"/onsite/coverage?quarter={bad}", 422)


def test_station_staff_see_only_settled_results_of_days_that_are_over(fleet_client: TestClient,
                                                                      fleet_engine: Engine) -> None:
    api = Api(fleet_client)
    # A check this morning, judged once its window ended: settled for the sensors, but today is not over.
    with make_session_factory(fleet_engine)() as session:
        create_plan(session, day=TODAY, start=time(8, 30), end=time(9, 30), scope="stations", stations=["hl-01"],
                    created_by="admin", now=NOW)
        session.commit()
        station = session.get(Station, "hl-01")
        assert station is not None
        recompute_station(session, station, [TODAY], TODAY, RulesConfig(), NOW)
        session.commit()
    assert [(r["station"], r["date"]) for r in api.get("admin", "/spot-checks/results?station=hl-01")] == [
        ("hl-01", "2026-10-12"), ("hl-01", "2026-10-09")]
    staff = api.get("staff-hl1", "/spot-checks/results")
    assert [(r["station"], r["date"], r["review"]) for r in staff] == [("hl-01", "2026-10-09", "sensor")]
    # Another station's results, by filter: nothing.
    assert api.get("staff-hl1", "/spot-checks/results?station=hl-02") == []
    # nh-01 waits for an inspector: its staff see nothing of it.
    assert api.get("staff-nh1", "/spot-checks/results") == []
    assert api.get("staff-nh1", "/spot-checks/vetoes", 403)


def test_the_override_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """The same queries (the counted result in SQL, the outer joins) on PostgreSQL."""
    engine = migrated(postgres_url)
    fleet.build(engine)
    try:
        with TestClient(make_app(engine, tmp_path)) as client:
            api = Api(client)
            plan = _plan_id(api)
            api.post("town-hl", f"/onsite/visits/{plan}/hl-01/record", {"found": "closed", "visited_at": AT}, 201)
            assert _veto(api, "hl-01") == (0, [])
            api.post("admin", f"/onsite/visits/{plan}/hl-01/decision", {"outcome": "fail", "reason": "现场关门"})
            assert _veto(api, "hl-01") == (1, ["2026-10-09"]) and _assessed_failures(api, "hl-01") == 1
            assert [r["station"] for r in api.get("admin", "/spot-checks/results?result=fail")] == ["hl-01", "hl-02"]
            assert api.get("admin", "/spot-checks")[0]["results"] == {"fail": 2, "pass": 1, "unverifiable": 1}
            assert api.get("town-hl", "/onsite/coverage")["towns"][0]["visited"] == 1
            assert _staff_results(api, "staff-hl1") == [("hl-01", "fail")]
    finally:
        engine.dispose()


def test_hostile_values_in_every_onsite_slot_are_never_a_server_error(fleet_client: TestClient) -> None:
    api = Api(fleet_client)
    headers = api._headers("admin")
    plan = _plan_id(api)
    templates = ["/onsite/visits?from={}", "/onsite/visits?to={}", "/onsite/visits?review={}",
                 "/onsite/coverage?quarter={}", "/onsite/decisions.csv?from={}", "/onsite/visits/{}/hl-01",
                 f"/onsite/visits/{plan}/{{}}", "/spot-checks/results?result={}"]
    for template in templates:
        for value in NASTY:
            if not value and ("{}/" in template or template.endswith("/{}")):
                continue
            response = fleet_client.get(V1 + template.format(quote(value, safe="")), headers=headers)
            assert response.status_code < 500, (template, value, response.status_code, response.text)
            assert response.status_code in (200, 404, 422), (template, value, response.status_code)
    for value in NASTY:
        for path in (f"/onsite/visits/{plan}/{quote(value, safe='')}/record",
                     f"/onsite/visits/{plan}/{quote(value, safe='')}/decision"):
            if value:
                response = fleet_client.post(V1 + path, json={"found": "open", "outcome": "pass", "reason": "x"},
                                             headers=headers)
                assert response.status_code in (404, 422), (path, response.status_code)
        body = {"found": "open", "notes": value, "visited_at": AT}
        status = fleet_client.post(V1 + f"/onsite/visits/{plan}/nh-02/record", json=body, headers=headers).status_code
        assert status == (422 if "\x00" in value or len(value) > 2000 else 201 if value == NASTY[0] else 409), value


def test_a_town_sees_the_bureaus_unannounced_check_only_once_its_window_has_ended(fleet_client: TestClient) -> None:
    api = Api(fleet_client)
    ahead = api.post("admin", "/spot-checks", {"date": "2026-10-14", "start": "09:00", "end": "10:00",
                                               "town": "汇龙镇"}, 201)
    # This morning's check, planned by the bureau at dawn: its window (08:00-09:30) ended before now (10:00).
    ended = api.post("admin", "/spot-checks", {"date": "2026-10-12", "start": "08:00", "end": "09:30",
                                               "stations": ["hl-01"]}, 201)
    running = api.post("admin", "/spot-checks", {"date": "2026-10-12", "start": "09:30", "end": "10:30",
                                                 "stations": ["hl-01"]}, 201)
    own = api.post("town-hl", "/spot-checks", {"date": "2026-10-14", "start": "14:00", "end": "15:00",
                                               "town": "汇龙镇"}, 201)
    seen = {p["id"] for p in api.get("town-hl", "/spot-checks")}
    assert ahead["id"] not in seen and running["id"] not in seen and {ended["id"], own["id"]} <= seen
    for plan in (ahead, running):
        api.get("town-hl", f"/spot-checks/{plan['id']}", 404)
        api.get("town-hl", f"/onsite/visits/{plan['id']}/hl-01", 404)
        api.post("town-hl", f"/onsite/visits/{plan['id']}/hl-01/record", {"found": "open"}, 404)
    plans = {v["plan_id"] for v in api.get("town-hl", "/onsite/visits")}
    assert ahead["id"] not in plans and running["id"] not in plans and {ended["id"], own["id"]} <= plans
    # The bureau's own inspector records during its check: the town's coverage does not show it before the end.
    api.post("admin", f"/onsite/visits/{running['id']}/hl-01/record", {"found": "open"}, 201)
    assert api.get("town-hl", "/onsite/coverage")["towns"][0]["visited"] == 0
    assert {t["town"]: t["visited"] for t in api.get("admin", "/onsite/coverage")["towns"]}["汇龙镇"] == 1


def test_whose_check_a_plan_is_stays_as_planned_when_its_planner_changes_role(fleet_client: TestClient) -> None:
    """A plan is the bureau's or a town's by what it recorded when made (`planner_role`), not by what its planner's
    account is today: a bureau inspector moved to a town does not make the bureau's unannounced checks visible to
    the town in advance, and a town officer moved to the bureau does not hide the town's own checks from it."""
    api = Api(fleet_client)
    for name, role, towns in (("inspector", "bureau", []), ("officer-hl", "town", ["汇龙镇"])):
        api.post("admin", "/users", {"name": name, "role": role, "towns": towns, "password": PASSWORD}, 201)
    ahead = api.post("inspector", "/spot-checks", {"date": "2026-10-14", "start": "09:00", "end": "10:00",
                                                   "stations": ["hl-01"]}, 201)
    own = api.post("officer-hl", "/spot-checks", {"date": "2026-10-15", "start": "09:00", "end": "10:00",
                                                  "town": "汇龙镇"}, 201)
    assert (ahead["planner_role"], own["planner_role"]) == ("bureau", "town")

    def town_sees() -> tuple[set[int], set[int], int]:
        mine = {ahead["id"], own["id"]}
        plans = {p["id"] for p in api.get("town-hl", "/spot-checks")} & mine
        visits = {v["plan_id"] for v in api.get("town-hl", "/onsite/visits")} & mine
        coverage = {t["town"]: t["own_plans"] for t in api.get("admin", "/onsite/coverage")["towns"]}
        return plans, visits, coverage["汇龙镇"]

    assert town_sees() == ({own["id"]}, {own["id"]}, 1)
    users = {u["name"]: u["id"] for u in api.get("admin", "/users")}
    api.client.patch(f"{V1}/users/{users['inspector']}", json={"role": "town", "towns": ["汇龙镇"]},
                     headers=api._headers("admin")).raise_for_status()
    api.client.patch(f"{V1}/users/{users['officer-hl']}", json={"role": "bureau"},
                     headers=api._headers("admin")).raise_for_status()
    assert town_sees() == ({own["id"]}, {own["id"]}, 1)
    api.get("town-hl", f"/spot-checks/{ahead['id']}", 404)
    api.get("town-hl", f"/onsite/visits/{ahead['id']}/hl-01", 404)
    assert api.get("town-hl", f"/spot-checks/{own['id']}")["planner_role"] == "town"
