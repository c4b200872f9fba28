"""The calendar page's API: the bureau uploads the holiday file (validated, one line per problem), sees which years
are known; the unknown-year alert is the bureau's alone; spot-check plans for past days are refused."""

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.cells import FORMULA_STARTS
from cloud.derive import calendar_store
from cloud.rules.calendar import PACKAGE
from cloud.rules.holidays_file import LocalDay
from cloud.store.db import make_session_factory
from tests.api.conftest import settings_for, token_for

V1 = "/api/v1"
GOOD = "date,kind,name\n2026-10-19,holiday,县庆\n2027-01-01,holiday,元旦\n"


def test_bureau_uploads_the_holiday_file(as_user: Callable[[str], TestClient]) -> None:
    for user in ("staff-hl1", "dispatch"):
        assert as_user(user).get(f"{V1}/calendar").status_code == 403
        assert as_user(user).post(f"{V1}/calendar", json={"content": GOOD}).status_code == 403
    town = as_user("town-hl")
    assert town.post(f"{V1}/calendar", json={"content": GOOD}).status_code == 403
    assert town.get(f"{V1}/calendar").json()["version"] is None
    admin = as_user("admin")
    bad = admin.post(f"{V1}/calendar", json={"content": "date,kind,name\n2026-10-32,holiday,x\n"
                                                        "2026-10-19,off,y\n2026-10-20,holiday,z\n2026-10-20,workday,w\n"})
    assert bad.status_code == 422
    assert bad.json()["problems"] == ["line 2: bad date '2026-10-32' (expected YYYY-MM-DD)",
                                      "line 3: bad kind 'off' (expected holiday or workday)",
                                      "line 5: duplicate date 2026-10-20 (first on line 4)"]
    assert admin.get(f"{V1}/calendar").json()["version"] is None  # refused as a whole
    made = admin.post(f"{V1}/calendar", json={"content": "\ufeff" + GOOD})
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["version"]["source"] == "upload" and body["version"]["uploaded_by"] == "admin"
    assert [(d["date"], d["kind"], d["name"]) for d in body["days"]] == [
        ("2026-10-19", "holiday", "县庆"), ("2027-01-01", "holiday", "元旦")]
    assert {y["year"]: y["source"] for y in body["years"]} == {2025: "package", 2026: "package", 2027: "file"}
    assert admin.get(f"{V1}/calendar/file").text == "date,kind,name\n2026-10-19,holiday,县庆\n2027-01-01,holiday,元旦\n"


def test_the_unknown_year_alert_is_the_bureaus(engine: Engine, tmp_path: Path) -> None:
    december = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    with make_session_factory(engine)() as session:
        calendar_store.unknown_year_alerts(session, PACKAGE, december.date(), december)
        session.commit()
    app = create_app(settings_for(tmp_path), config=ApiConfig(clock=lambda: december), engine=engine)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token_for(client, 'admin')}"
        assert client.get(f"{V1}/calendar").json()["unknown_years"] == [2027]
        [alert] = client.get(f"{V1}/alerts").json()
        assert (alert["kind"], alert["level"], alert["station"], alert["evidence"]["year"]) == (
            "calendar_unknown_year", "bureau", "", 2027)
        assert client.get(f"{V1}/overview").json()["active_alerts"] == 1
        assert client.post(f"{V1}/alerts/{alert['id']}/acknowledge").status_code == 200
        for user in ("town-hl", "staff-hl1", "dispatch"):
            client.headers["Authorization"] = f"Bearer {token_for(client, user)}"
            assert client.get(f"{V1}/alerts").json() == []
            assert client.get(f"{V1}/alerts/{alert['id']}").status_code == 404


def test_spot_check_plans_are_for_today_or_later(fleet_as: Callable[[str], TestClient]) -> None:
    admin = fleet_as("admin")  # the fleet's clock: Monday 2026-10-12, 10:00 in Shanghai
    past = admin.post(f"{V1}/spot-checks", json={"date": "2026-10-11", "start": "09:00", "end": "10:00"})
    assert past.status_code == 422
    assert past.json()["detail"] == ("the check date 2026-10-11 is in the past (today is 2026-10-12): plan a check for "
                                     "today or later")
    assert admin.post(f"{V1}/spot-checks", json={"date": "2026-10-12", "start": "15:00",
                                                 "end": "16:00"}).status_code == 201


def test_a_holiday_name_a_spreadsheet_would_run_is_refused_and_never_served(
        as_user: Callable[[str], TestClient], engine: Engine) -> None:
    """Towns download the holiday file and open it in Excel or WPS: a name such as `=HYPERLINK(...)` would be a live
    formula there. Exported cells are never formulas."""
    admin = as_user("admin")
    hostile = ('date,kind,name\n2026-10-19,holiday,"=HYPERLINK(""http://evil.example"",""点击"")"\n'
               "2026-10-20,holiday,@SUM(1+1)\n2026-10-21,holiday,+1\n2026-10-22,holiday,-2\n"
               "2026-10-23,holiday,\t=1+1\n2026-10-24,workday,调休-补班\n")
    refused = admin.post(f"{V1}/calendar", json={"content": hostile})
    assert refused.status_code == 422
    problems = refused.json()["problems"]
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert "formula" in problems[0] and "=HYPERLINK" in problems[0]
    assert admin.get(f"{V1}/calendar").json()["version"] is None  # refused as a whole
    # A version stored before such names were refused still reads, and downloads with the formula made text.
    with make_session_factory(engine)() as session:
        calendar_store.store_version(session, [LocalDay(date(2026, 10, 19), "holiday", '=HYPERLINK("http://x")', 2),
                                               LocalDay(date(2026, 10, 20), "holiday", "@SUM(1+1)", 3),
                                               LocalDay(date(2026, 10, 21), "holiday", "县庆", 4)],
                                     source="upload", now=datetime(2026, 10, 1, tzinfo=UTC), by="admin")
        session.commit()
    town = as_user("town-hl")
    assert [d["name"] for d in town.get(f"{V1}/calendar").json()["days"]] == [
        '=HYPERLINK("http://x")', "@SUM(1+1)", "县庆"]
    served = town.get(f"{V1}/calendar/file")
    assert served.status_code == 200
    rows = list(csv.reader(io.StringIO(served.text)))
    assert [row[2] for row in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "'@SUM(1+1)", "县庆"]
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row)
