import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient
from openpyxl import load_workbook

V1 = "/api/v1"


def sheet_rows(content: bytes) -> list[list[object]]:
    workbook = load_workbook(io.BytesIO(content))
    return [list(row) for row in workbook.active.iter_rows(values_only=True)]


def test_assessment_excel_has_rubric_rows_spot_checks_veto_and_subsidy(fleet_as: Callable[[str], TestClient]) -> None:
    response = fleet_as("town-hl").get(f"{V1}/exports/stations/hl-02/assessment/2026?format=xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "assessment-hl-02-2026.xlsx" in response.headers["content-disposition"]
    rows = sheet_rows(response.content)
    facts = {r[0]: r[1] for r in rows if r[0] and r[1] is not None}
    assert facts["等级"] == "2A" and facts["补贴标准（元）"] == "5000"
    assert str(facts["应拨补贴（元）"]).startswith("待评分")
    by_item = {r[0]: r for r in rows}
    assert by_item["抽查：未开放次数"][1] == "1"
    assert by_item["一票否决"][1] == "否"
    assert by_item["运营管理：工作时间内正常开放（开放合规率）"][1] == "0.0%"
    assert by_item["服务成效：月均服务老人数（经常服务人数月均达等级标准）"][2] == "≥ 50"
    details = [r for r in rows if r[0] == "抽查明细"]
    assert [(r[1], r[3]) for r in details] == [("2026-10-09 09:00-10:00", "未开放")]
    # With the assessors' score the subsidy is decided: 80 or more earns the grade's amount.
    scored = fleet_as("admin").get(f"{V1}/exports/stations/hl-02/assessment/2026?format=xlsx&score=85")
    assert {r[0]: r[1] for r in sheet_rows(scored.content)}["应拨补贴（元）"] == "5000"
    low = fleet_as("admin").get(f"{V1}/exports/stations/hl-02/assessment/2026?format=xlsx&score=79.5")
    assert {r[0]: r[1] for r in sheet_rows(low.content)}["应拨补贴（元）"] == "0"


def test_assessment_csv_opens_in_excel_with_chinese(fleet_as: Callable[[str], TestClient]) -> None:
    response = fleet_as("admin").get(f"{V1}/exports/stations/hl-01/assessment/2026?format=csv")
    assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["2026年度 汇龙一站 考核表"]
    assert ["等级", "3A"] in rows and any(r and r[0] == "一票否决" for r in rows)


def test_assessment_list(fleet_as: Callable[[str], TestClient]) -> None:
    rows = {r["station"]: r for r in fleet_as("admin").get(f"{V1}/assessments/2026").json()}
    assert set(rows) == {"hl-01", "hl-02", "nh-01", "nh-02"}
    assert (rows["nh-02"]["subsidy_cny"], rows["nh-02"]["subsidy_if_eligible"], rows["nh-02"]["eligible"]) == (
        32000, 32000, None)
    # October so far: the 8th and 9th open, the make-up Saturday the 10th silent (unknown, so not open), today (the
    # 12th) still running and not counted yet: 2 of 3 days' scheduled minutes served.
    assert rows["hl-02"]["failed_spot_checks"] == 1 and rows["hl-01"]["compliance"] == 0.6667
    assert {r["station"] for r in fleet_as("town-hl").get(f"{V1}/assessments/2026").json()} == {"hl-01", "hl-02"}
    assert fleet_as("staff-hl1").get(f"{V1}/assessments/2026").status_code == 403


def test_monthly_report(fleet_as: Callable[[str], TestClient]) -> None:
    staff = fleet_as("staff-hl1")
    response = staff.get(f"{V1}/exports/stations/hl-01/monthly/2026-10?format=xlsx")
    assert response.status_code == 200
    rows = sheet_rows(response.content)
    facts = {r[0]: r[1] for r in rows}
    assert facts["月份"] == "2026-10" and facts["月度标准"] == "100" and facts["服务老人（去重）"] == "4"
    day_rows = {r[0]: r for r in rows if isinstance(r[0], str) and r[0].startswith("2026-10-")}
    assert day_rows["2026-10-09"][1] == "open" and day_rows["2026-10-01"][1] == "not_scheduled"
    as_csv = staff.get(f"{V1}/exports/stations/hl-01/monthly/2026-10?format=csv")
    assert as_csv.status_code == 200 and "2026-10-09,open" in as_csv.content.decode("utf-8-sig")
    assert staff.get(f"{V1}/exports/stations/hl-01/monthly/2025-01").status_code == 404


def test_exports_respect_scope(fleet_as: Callable[[str], TestClient]) -> None:
    cases = [
        ("town-hl", "/exports/stations/nh-01/assessment/2026", 404),
        ("town-hl", "/exports/stations/nh-01/monthly/2026-10", 404),
        ("staff-hl1", "/exports/stations/hl-02/monthly/2026-10", 404),
        ("staff-hl1", "/exports/stations/hl-01/assessment/2026", 403),
        ("dispatch", "/exports/stations/hl-01/monthly/2026-10", 403),
        ("admin", "/exports/stations/hl-01/assessment/2026?format=pdf", 422),
        ("admin", "/exports/stations/hl-01/assessment/1999", 422),
    ]
    for user, path, code in cases:
        assert fleet_as(user).get(V1 + path).status_code == code, (user, path)
