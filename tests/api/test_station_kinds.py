"""A care centre and a neighbourhood point in the API and the exports: listed with their kind, their month's elders
and opening reported, and the grade's standard, veto and subsidy reading 不适用 (not applicable) — never a failure,
never a withheld subsidy. The fleet of tests/api/fleet.py with hl-01 (open, four elders: a 3A station would miss its
100) registered as a neighbourhood point and hl-02 (closed on the bureau's spot check) as a care centre; the south
town's stations are graded as before."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api import fleet
from tests.api.conftest import _as_user, make_app
from tests.api.test_exports import sheet_rows

V1 = "/api/v1"
KINDS = {"hl-01": "neighbourhood_point", "hl-02": "care_centre"}


@pytest.fixture
def kinds_as(engine: Engine, tmp_path: Path) -> Iterator[Callable[[str], TestClient]]:
    fleet.register_kinds(engine, KINDS)
    fleet.build(engine)
    with TestClient(make_app(engine, tmp_path)) as client:
        yield _as_user(client)


def test_the_list_and_the_month_show_the_kind_and_no_threshold(kinds_as: Callable[[str], TestClient]) -> None:
    admin = kinds_as("admin")
    listed = {s["id"]: s for s in admin.get(f"{V1}/stations").json()}
    assert (listed["hl-01"]["kind"], listed["hl-01"]["grade"]) == ("neighbourhood_point", None)
    assert (listed["nh-01"]["kind"], listed["nh-01"]["grade"]) == ("station", "4A")
    assert {s["id"] for s in admin.get(f"{V1}/stations?kind=care_centre").json()} == {"hl-02"}
    month = kinds_as("staff-hl1").get(f"{V1}/stations/hl-01/months/2026-10").json()
    assert (month["kind"], month["elders"], month["threshold"], month["met"], month["at_risk"]) == (
        "neighbourhood_point", 4, None, None, None)
    # The overview's progress by grade is the graded stations' only.
    grades = {g["grade"]: g for g in kinds_as("admin").get(f"{V1}/overview").json()["grades"]}
    assert set(grades) == {"4A", "5A"}


def test_the_veto_list_and_the_assessments_say_not_applicable(kinds_as: Callable[[str], TestClient]) -> None:
    admin = kinds_as("admin")
    vetoes = {v["station"]: v for v in admin.get(f"{V1}/spot-checks/vetoes?year=2026").json()}
    assert (vetoes["hl-02"]["failed"], vetoes["hl-02"]["veto"]) == (1, None)  # counted, the veto does not apply
    rows = {r["station"]: r for r in admin.get(f"{V1}/assessments/2026").json()}
    centre = rows["hl-02"]
    assert (centre["kind"], centre["graded"], centre["grade"], centre["failed_spot_checks"]) == (
        "care_centre", False, None, 1)
    assert [centre[k] for k in ("months_met", "months_unconfirmed", "threshold", "veto", "subsidy_cny", "eligible",
                                "subsidy_if_eligible", "subsidy")] == [None] * 8
    point = rows["hl-01"]
    assert point["compliance"] is not None  # its opening is reported
    assert (point["graded"], point["months_met"], point["subsidy_cny"]) == (False, None, None)
    graded = rows["nh-02"]  # unchanged
    assert (graded["kind"], graded["graded"], graded["subsidy_cny"], graded["subsidy_if_eligible"]) == (
        "station", True, 32000, 32000)


def test_the_assessment_sheet_reads_not_applicable_and_no_subsidy(kinds_as: Callable[[str], TestClient]) -> None:
    admin = kinds_as("admin")
    response = admin.get(f"{V1}/exports/stations/hl-02/assessment/2026?format=xlsx&score=95")
    assert response.status_code == 200
    rows = sheet_rows(response.content)
    facts = {r[0]: r[1] for r in rows if r[0] and r[1] is not None}
    assert facts["类型"] == "照料中心" and facts["等级"] == "—（照料中心，不分等级）"
    assert facts["运营补贴"] == "不适用（照料中心不按等级发放运营补贴）"
    assert "补贴标准（元）" not in facts and "应拨补贴（元）" not in facts
    by_item = {r[0]: r for r in rows}
    assert by_item["一票否决"][1] == "不适用" and by_item["一票否决"][3] == "不适用"
    assert by_item["抽查：未开放次数"][1] == "1" and by_item["抽查：未开放次数"][3] == "不适用"
    assert by_item["服务成效：月度达标月数"][3] == "不适用"
    assert str(by_item["服务成效：月均服务老人数（经常服务人数月均达等级标准）"][2]).startswith("不适用")
    assert not any(cell == "未达标" for r in rows for cell in r)  # no failure anywhere on the sheet
    # The details of the check are still there, as found.
    assert [(r[1], r[3]) for r in rows if r[0] == "抽查明细"] == [("2026-10-09 09:00-10:00", "未开放")]
    as_csv = admin.get(f"{V1}/exports/stations/hl-02/assessment/2026?format=csv").content.decode("utf-8-sig")
    assert "类型,照料中心" in as_csv and "一票否决,不适用" in as_csv


def test_the_monthly_report_reads_not_applicable(kinds_as: Callable[[str], TestClient]) -> None:
    response = kinds_as("staff-hl1").get(f"{V1}/exports/stations/hl-01/monthly/2026-10?format=xlsx")
    assert response.status_code == 200
    facts = {r[0]: r[1] for r in sheet_rows(response.content)}
    assert (facts["类型"], facts["等级"]) == ("睦邻点", "—（睦邻点，不分等级）")
    assert facts["服务老人（去重）"] == "4" and facts["月度标准"] == "不适用" and facts["月末预计"] == "不适用"
    assert facts["是否达标"] == "不适用（照料中心、睦邻点不分等级，无月度服务人数标准）"


CENTRE = {"station_id": "hl-05", "name": "汇龙村照料中心", "town": "汇龙镇", "kind": "care_centre",
          "weekdays": "1-5", "hours": "08:30-11:30 13:30-17:00", "address": "汇龙镇五号路"}  # no grade: it has none


def test_the_registry_page_takes_a_kind_and_refuses_a_wrong_grade(as_user: Callable[[str], TestClient]) -> None:
    admin = as_user("admin")
    made = admin.post(f"{V1}/registry/stations", json=CENTRE)
    assert made.status_code == 201, made.text
    assert (made.json()["kind"], made.json()["grade"]) == ("care_centre", None)
    bad = {
        ("neighbourhood_point", "2A"): "grade must be empty for kind neighbourhood_point",
        ("care_centre", "3A"): "grade must be empty for kind care_centre",
        ("station", ""): "grade is empty (a station (居家养老服务站) needs its grade",
        ("hospital", ""): "kind 'hospital' must be one of station, care_centre, neighbourhood_point",
    }
    for (kind, grade), reason in bad.items():
        response = admin.put(f"{V1}/registry/stations/hl-05", json={**CENTRE, "kind": kind, "grade": grade})
        assert response.status_code == 422 and reason in response.json()["detail"], (kind, grade, response.text)
    # Made a graded station later: from that day on it is judged as one; the history keeps both versions.
    assert admin.put(f"{V1}/registry/stations/hl-05", json={**CENTRE, "kind": "station", "grade": "2A"}
                     ).status_code == 200
    history = admin.get(f"{V1}/registry/stations/hl-05/schedules").json()
    assert [(v["kind"], v["grade"]) for v in history] == [("station", "2A")]  # changed the day it was added
    text = ("station_id,name,town,grade,weekdays,hours,kind\n"
            "hl-06,汇龙睦邻点,汇龙镇,,1-7,09:00-11:00,睦邻点\n"
            "hl-07,汇龙七点,汇龙镇,3A,1-5,08:30-11:30,neighbourhood_point\n")
    done = admin.post(f"{V1}/registry/stations/import", content=text.encode("utf-8"),
                      headers={"Content-Type": "text/csv"}).json()
    assert (done["added"], done["problems"]) == (1, ["line 3: grade must be empty for kind neighbourhood_point "
                                                     "(a neighbourhood point has no grade: got '3A')"])
    listed = {s["station_id"]: s for s in admin.get(f"{V1}/registry/stations").json()}
    assert (listed["hl-06"]["kind"], listed["hl-06"]["grade"]) == ("neighbourhood_point", None)
    assert "hl-07" not in listed
