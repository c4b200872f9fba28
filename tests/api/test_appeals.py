"""Appeals (申诉) against failed spot checks through the API: a station contests a failed check once, its town or the
bureau decides, and an upheld appeal takes exactly that check out of the veto's count, through to the veto figure and
the assessment export. Scope: station staff see their own station's failed checks (only once the day is over), a town
its towns'."""

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date, time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud.api.security import hash_password
from cloud.derive.plans import create_plan
from cloud.derive.recompute import recompute_station
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.models import Station
from cloud.store.users import User
from tests.api import fleet
from tests.api.conftest import PASSWORD, _as_user, make_app

V1 = "/api/v1"


@pytest.fixture
def veto_as(fleet_engine: Engine, tmp_path: Path) -> Iterator[Callable[[str], TestClient]]:
    """The fleet with hl-02 (closed every day) failing four checks on three days: 10-08 twice (morning and afternoon),
    10-09 (the fleet's own check), and today 10-12 in the morning: three failed days, so the veto. Staff accounts
    for hl-02 and a second town's officer."""
    with make_session_factory(fleet_engine)() as session:
        for day, start, end in ((date(2026, 10, 8), time(9), time(10)), (date(2026, 10, 8), time(14), time(15)),
                                (date(2026, 10, 12), time(8, 40), time(9, 40))):
            create_plan(session, day=day, start=start, end=end, scope="stations", stations=["hl-02"],
                        created_by="admin", now=fleet.NOW)
        session.add(User(name="staff-hl2", role="station", password_hash=hash_password(PASSWORD), station_id="hl-02"))
        session.commit()
        station = session.get(Station, "hl-02")
        assert station is not None
        recompute_station(session, station, fleet.DAYS, fleet.TODAY, RulesConfig(), fleet.NOW)
        session.commit()
    with TestClient(make_app(fleet_engine, tmp_path)) as client:
        yield _as_user(client)


def _veto(client: TestClient, station: str = "hl-02") -> tuple[int, bool, list[str]]:
    row = next(v for v in client.get(f"{V1}/spot-checks/vetoes?year=2026").json() if v["station"] == station)
    return row["failed"], row["veto"], row["failed_dates"]


def _checks(client: TestClient) -> dict[tuple[str, str], int]:
    return {(c["date"], c["start"]): c["plan_id"] for c in client.get(f"{V1}/appeals/checks").json()}


def test_an_upheld_appeal_takes_its_check_out_of_the_veto_and_only_that(veto_as: Callable[[str], TestClient]) -> None:
    assert _veto(veto_as("admin")) == (3, True, ["2026-10-08", "2026-10-09", "2026-10-12"])
    staff = veto_as("staff-hl2")
    checks = _checks(staff)
    # Today's check is not shown to the station while its day runs (a check is unannounced).
    assert set(checks) == {("2026-10-08", "09:00"), ("2026-10-08", "14:00"), ("2026-10-09", "09:00")}

    # One window of 10-08 upheld: the day still failed in the afternoon, so the count stands.
    morning = staff.post(f"{V1}/appeals", json={"plan_id": checks[("2026-10-08", "09:00")],
                                                 "text": "上午停电，已报供电所"})
    assert morning.status_code == 201, morning.text
    assert morning.json()["status"] == "pending" and morning.json()["filed_by"] == "staff-hl2"
    town = veto_as("town-hl")
    decided = town.post(f"{V1}/appeals/{morning.json()['id']}/decide",
                        json={"outcome": "upheld", "reason": "供电所证明属实"})
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["decided_by"], decided.json()["counts_toward_veto"]) == (
        "upheld", "town-hl", False)
    assert decided.json()["result"] == "fail"  # the check's result is kept
    assert _veto(veto_as("admin")) == (3, True, ["2026-10-08", "2026-10-09", "2026-10-12"])

    # 10-09 rejected: nothing changes.
    staff = veto_as("staff-hl2")
    second = staff.post(f"{V1}/appeals", json={"plan_id": checks[("2026-10-09", "09:00")], "text": "当天在开会"}).json()
    veto_as("town-hl").post(f"{V1}/appeals/{second['id']}/decide", json={"outcome": "rejected", "reason": "无证明"})
    assert _veto(veto_as("admin")) == (3, True, ["2026-10-08", "2026-10-09", "2026-10-12"])

    # The afternoon of 10-08 upheld by the bureau: 10-08 no longer counts, the veto is lifted.
    staff = veto_as("staff-hl2")
    third = staff.post(f"{V1}/appeals", json={"plan_id": checks[("2026-10-08", "14:00")], "text": "停电持续到下午"})
    veto_as("admin").post(f"{V1}/appeals/{third.json()['id']}/decide",
                          json={"outcome": "upheld", "reason": "同上，供电所证明"})
    assert _veto(veto_as("admin")) == (2, False, ["2026-10-09", "2026-10-12"])
    summary = next(r for r in veto_as("admin").get(f"{V1}/assessments/2026").json() if r["station"] == "hl-02")
    assert (summary["failed_spot_checks"], summary["veto"]) == (2, False)


def test_a_check_is_appealed_once(veto_as: Callable[[str], TestClient]) -> None:
    staff = veto_as("staff-hl2")
    plan = _checks(staff)[("2026-10-09", "09:00")]
    first = staff.post(f"{V1}/appeals", json={"plan_id": plan, "text": "第一次"})
    assert first.status_code == 201
    again = staff.post(f"{V1}/appeals", json={"plan_id": plan, "text": "再申诉一次"})
    assert again.status_code == 409 and "once" in again.json()["detail"]
    veto_as("town-hl").post(f"{V1}/appeals/{first.json()['id']}/decide", json={"outcome": "rejected", "reason": "x"})
    staff = veto_as("staff-hl2")
    assert staff.post(f"{V1}/appeals", json={"plan_id": plan, "text": "驳回后再来"}).status_code == 409
    redecide = veto_as("admin").post(f"{V1}/appeals/{first.json()['id']}/decide",
                                     json={"outcome": "upheld", "reason": "改判"})
    assert redecide.status_code == 409
    assert [a["status"] for a in veto_as("admin").get(f"{V1}/appeals").json()] == ["rejected"]


def test_what_cannot_be_appealed(veto_as: Callable[[str], TestClient]) -> None:
    admin = veto_as("admin")
    plans = {(p["date"], p["start"]): p["id"] for p in admin.get(f"{V1}/spot-checks").json()}
    staff = veto_as("staff-hl2")
    today = staff.post(f"{V1}/appeals", json={"plan_id": plans[("2026-10-12", "08:40")], "text": "今天"})
    assert today.status_code == 404  # today's check does not exist for the station yet
    hl1 = veto_as("staff-hl1")  # hl-01 passed the 10-09 check
    passed = hl1.post(f"{V1}/appeals", json={"plan_id": plans[("2026-10-09", "09:00")], "text": "通过了也申诉"})
    assert passed.status_code == 404 and "no failed spot check" in passed.json()["detail"]
    other = hl1.post(f"{V1}/appeals", json={"plan_id": plans[("2026-10-08", "09:00")], "text": "别站的"})
    assert other.status_code == 404
    for user in ("admin", "town-hl", "dispatch"):
        response = veto_as(user).post(f"{V1}/appeals", json={"plan_id": plans[("2026-10-09", "09:00")], "text": "x"})
        assert response.status_code == 403, user
    for body in ({"plan_id": plans[("2026-10-09", "09:00")], "text": ""},
                 {"plan_id": plans[("2026-10-09", "09:00")], "text": "x" * 2001}, {"plan_id": 0, "text": "x"}):
        assert veto_as("staff-hl2").post(f"{V1}/appeals", json=body).status_code == 422


def test_scope_station_staff_and_towns_see_only_their_own(veto_as: Callable[[str], TestClient]) -> None:
    staff = veto_as("staff-hl2")
    plan = _checks(staff)[("2026-10-09", "09:00")]
    appeal = staff.post(f"{V1}/appeals", json={"plan_id": plan, "text": "申诉"}).json()
    assert [a["id"] for a in veto_as("staff-hl2").get(f"{V1}/appeals").json()] == [appeal["id"]]
    assert veto_as("staff-hl1").get(f"{V1}/appeals").json() == []
    assert veto_as("staff-hl1").get(f"{V1}/appeals/checks").json() == []  # hl-01 failed nothing
    assert veto_as("staff-nh1").get(f"{V1}/appeals").json() == []
    assert veto_as("dispatch").get(f"{V1}/appeals").status_code == 403
    assert veto_as("dispatch").get(f"{V1}/appeals/checks").status_code == 403
    # A station cannot decide its own appeal; nor can another town's officer (it is outside their scope).
    assert veto_as("staff-hl2").post(f"{V1}/appeals/{appeal['id']}/decide",
                                     json={"outcome": "upheld", "reason": "自己批"}).status_code == 403
    admin = veto_as("admin")
    made = admin.post(f"{V1}/users", json={"name": "town-nh", "role": "town", "towns": ["南阳镇"],
                                           "password": PASSWORD})
    assert made.status_code == 201
    other = veto_as("town-nh")
    assert other.get(f"{V1}/appeals").json() == []
    assert other.post(f"{V1}/appeals/{appeal['id']}/decide",
                      json={"outcome": "upheld", "reason": "越权"}).status_code == 404
    assert [a["station"] for a in veto_as("town-hl").get(f"{V1}/appeals").json()] == ["hl-02"]
    assert [a["id"] for a in veto_as("admin").get(f"{V1}/appeals?status=pending").json()] == [appeal["id"]]
    assert veto_as("admin").get(f"{V1}/appeals?status=upheld").json() == []


def test_the_assessment_export_carries_the_appeal_and_its_decision_never_as_formulas(
        veto_as: Callable[[str], TestClient]) -> None:
    staff = veto_as("staff-hl2")
    plan = _checks(staff)[("2026-10-09", "09:00")]
    appeal = staff.post(f"{V1}/appeals", json={"plan_id": plan, "text": '=HYPERLINK("http://x","点击")'}).json()
    veto_as("town-hl").post(f"{V1}/appeals/{appeal['id']}/decide",
                            json={"outcome": "rejected", "reason": "+无证明材料"})
    admin = veto_as("admin")
    text = admin.get(f"{V1}/exports/stations/hl-02/assessment/2026?format=csv").content.decode("utf-8-sig")
    rows = [r for r in csv.reader(io.StringIO(text)) if r and r[0] == "抽查申诉"]
    assert len(rows) == 1
    _, check, filed, outcome, decided = rows[0]
    assert check == "2026-10-09 09:00-10:00"
    assert filed == '申诉（staff-hl2）：=HYPERLINK("http://x","点击")'  # inside text, not at the start
    assert outcome == "申诉驳回（维持）"
    assert decided == "town-hl 2026-10-12 10:00：+无证明材料"
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(admin.get(f"{V1}/exports/stations/hl-02/assessment/2026?format=xlsx").content))
    cells = [c for row in book.active.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" and not c.value.startswith("=") for c in cells)


def test_decisions_are_audited(veto_as: Callable[[str], TestClient]) -> None:
    staff = veto_as("staff-hl2")
    appeal = staff.post(f"{V1}/appeals", json={"plan_id": _checks(staff)[("2026-10-09", "09:00")],
                                                "text": "申诉"}).json()
    veto_as("town-hl").post(f"{V1}/appeals/{appeal['id']}/decide", json={"outcome": "upheld", "reason": "属实"})
    log = veto_as("admin").get(f"{V1}/audit?target_kind=appeal").json()
    assert [(e["action"], e["actor"]) for e in log] == [("appeal.decide", "town-hl"), ("appeal.file", "staff-hl2")]
    assert log[0]["before"] == {"status": "pending"} and log[0]["after"]["status"] == "upheld"


def test_the_decisions_export_is_what_the_audit_recompute_reads(veto_as: Callable[[str], TestClient]) -> None:
    from cloud.derive.offline import read_upheld_appeals

    staff = veto_as("staff-hl2")
    checks = _checks(staff)
    first = staff.post(f"{V1}/appeals", json={"plan_id": checks[("2026-10-08", "14:00")], "text": "停电"}).json()
    second = staff.post(f"{V1}/appeals", json={"plan_id": checks[("2026-10-09", "09:00")], "text": "开会"}).json()
    town = veto_as("town-hl")
    town.post(f"{V1}/appeals/{first['id']}/decide", json={"outcome": "upheld", "reason": "=属实"})
    town.post(f"{V1}/appeals/{second['id']}/decide", json={"outcome": "rejected", "reason": "无证明"})
    text = town.get(f"{V1}/appeals/decisions.csv").text
    assert text.splitlines() == ["station,date,start,end,outcome,reason", "hl-02,2026-10-08,14:00,15:00,upheld,'=属实",
                                 "hl-02,2026-10-09,09:00,10:00,rejected,无证明"]
    assert read_upheld_appeals(text) == {("hl-02", date(2026, 10, 8), "14:00", "15:00")}
    assert veto_as("staff-hl2").get(f"{V1}/appeals/decisions.csv").status_code == 403
    assert veto_as("dispatch").get(f"{V1}/appeals/decisions.csv").status_code == 403
