"""An auditor downloads a station's evidence from the running platform and `eldercare cloud derive` reproduces every
stored verdict from it: days, the month, the spot checks and the veto. Plus who may download what, and bad input."""

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, update

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.derive.plans import create_plan
from cloud.registry.csv_rows import parse_station_csv
from cloud.rules.records import DayRecord, MonthRecord
from cloud.store.db import make_session_factory
from cloud.store.schedules import StationSchedule
from tests.api import audit_month
from tests.api.audit_month import FIRST, LAST, NOW, Plans
from tests.api.conftest import PASSWORD, migrated, settings_for
from tests.api.server import serve

V1 = "/api/v1"
REPO = Path(__file__).resolve().parents[2]
STATIONS = ("hl-01", "hl-02")
RANGE = {"from": FIRST.isoformat(), "to": LAST.isoformat()}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Plans, Engine]]:
    """The month derived by the worker, served by the real API on a free port; the town's inspector recorded the
    disputed check, the bureau decided it, hl-02's staff appealed a failed check and the town upheld it."""
    tmp = tmp_path_factory.mktemp("audit")
    engine = migrated(f"sqlite:///{tmp / 'store.db'}")
    plans = audit_month.build(engine)
    app = create_app(settings_for(tmp), config=ApiConfig(clock=lambda: NOW, stream_poll_s=0.05), engine=engine)
    with serve(app) as base:
        admin = client(base, "admin")
        made = admin.post(f"{V1}/users", json={"name": "staff-hl2", "role": "station", "station": "hl-02",
                                               "password": PASSWORD})
        assert made.status_code == 201, made.text
        town = client(base, "town-hl")
        recorded = town.post(f"{V1}/onsite/visits/{plans.disputed}/hl-02/record",
                             json={"found": "closed", "notes": "门锁着，无人"})
        assert recorded.status_code == 201, recorded.text
        decided = admin.post(f"{V1}/onsite/visits/{plans.disputed}/hl-02/decision",
                             json={"outcome": "fail", "reason": "=现场关门"})
        assert decided.status_code == 200, decided.text
        appeal = client(base, "staff-hl2").post(f"{V1}/appeals", json={"plan_id": plans.appealed, "text": "停电"})
        assert appeal.status_code == 201, appeal.text
        upheld = town.post(f"{V1}/appeals/{appeal.json()['id']}/decide", json={"outcome": "upheld", "reason": "属实"})
        assert upheld.status_code == 200, upheld.text
        yield base, plans, engine
    engine.dispose()


def client(base: str, name: str) -> httpx.Client:
    token = httpx.post(f"{base}{V1}/auth/token", data={"username": name, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token.json()['access_token']}"},
                        timeout=60)


def download(api: httpx.Client, path: str, dest: Path, params: dict[str, str] | None = None) -> Path:
    """Stream a download to a file, as curl -o does."""
    with api.stream("GET", f"{V1}{path}", params=params) as response:
        assert response.status_code == 200, response.read().decode()
        with dest.open("wb") as out:
            for chunk in response.iter_bytes():
                out.write(chunk)
    return dest


def derive(files: dict[str, Path], tmp: Path) -> list[dict[str, Any]]:
    """`eldercare cloud derive` as an auditor runs it, in a process of its own, on nothing but the downloads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    env["PYTHONPATH"] = str(REPO)
    args = [sys.executable, "-m", "eldercare", "cloud", "derive", "--from", FIRST.isoformat(), "--to", LAST.isoformat()]
    for option, path in files.items():
        args += [f"--{option}", str(path)]
    done = subprocess.run(args, cwd=tmp, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert ": line " not in done.stderr, done.stderr  # no event line refused
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_an_audit_from_the_downloads_reproduces_every_stored_verdict(
        platform: tuple[str, Plans, Engine], tmp_path: Path) -> None:
    base, _, _ = platform
    bureau = client(base, "admin")
    shared = {
        "exceptions": download(bureau, "/closures/exceptions.csv", tmp_path / "exceptions.csv", RANGE),
        "appeals": download(bureau, "/appeals/decisions.csv", tmp_path / "appeals.csv"),
        "losses": download(bureau, "/exports/ingest-losses.csv", tmp_path / "losses.csv", RANGE),
    }
    vetoes = {v["station"]: v for v in bureau.get(f"{V1}/spot-checks/vetoes", params={"year": 2025}).json()}
    for station in STATIONS:
        files = {
            **shared,
            "stations": download(bureau, f"/exports/stations/{station}/station.csv", tmp_path / f"{station}.csv",
                                 RANGE),
            "events": download(bureau, f"/exports/stations/{station}/events.jsonl", tmp_path / f"{station}.jsonl",
                               RANGE),
            "spot-checks": download(bureau, f"/exports/stations/{station}/spot-checks.csv",
                                    tmp_path / f"{station}-checks.csv", RANGE),
            "time-checks": download(bureau, f"/exports/stations/{station}/time-checks.csv",
                                    tmp_path / f"{station}-time-checks.csv", RANGE),
            "decisions": download(bureau, "/onsite/decisions.csv", tmp_path / f"{station}-decisions.csv",
                                  {"station": station, **RANGE}),
        }
        lines = derive(files, tmp_path)
        days = {ln["date"]: ln for ln in lines if ln["type"] == "day"}
        assert sorted(days) == [(FIRST + timedelta(days=i)).isoformat() for i in range((LAST - FIRST).days + 1)]
        for day, line in days.items():
            stored = bureau.get(f"{V1}/stations/{station}/days/{day}").json()
            assert {k: stored.get(k) for k in line} == line, f"{station} {day}"
        month = next(ln for ln in lines if ln["type"] == "month")
        stored_month = bureau.get(f"{V1}/stations/{station}/months/2025-10").json()
        assert {k: stored_month.get(k) for k in month} == month, station
        results = bureau.get(f"{V1}/spot-checks/results", params={"year": 2025, "station": station}).json()
        stored_checks = {(r["date"], r["start"]): r for r in results}
        spots = {(ln["date"], ln["start"]): ln for ln in lines if ln["type"] == "spot_check"}
        assert sorted(spots) == sorted(stored_checks)
        for key, line in spots.items():
            got = stored_checks[key]
            assert {k: got[k] for k in ("result", "reason_code", "reason", "checked_minutes", "open_minutes",
                                        "closed_minutes", "unknown_minutes", "stretches")} == \
                {k: line[k] for k in ("result", "reason_code", "reason", "checked_minutes", "open_minutes",
                                      "closed_minutes", "unknown_minutes", "stretches")}, key
            assert got["sensor_result"] == line.get("sensor_result", line["result"]), key
        veto = [ln for ln in lines if ln["type"] == "veto"]
        assert [(v["failed"], v["veto"], v["failed_dates"]) for v in veto] == \
            [(vetoes[station]["failed"], vetoes[station]["veto"], vetoes[station]["failed_dates"])]
        check_the_month(station, days, month, spots, veto[0])


def check_the_month(station: str, days: dict[str, dict[str, Any]], month: dict[str, Any],
                    spots: dict[tuple[str, str], dict[str, Any]], veto: dict[str, Any]) -> None:
    """The awkward cases came out as the rules say (so the agreement above is over a month that holds them)."""
    record = {d: DayRecord.model_validate(line) for d, line in days.items()}
    assert MonthRecord.model_validate(month).month == "2025-10"
    assert all(record[f"2025-10-0{d}"].calendar == "holiday" for d in range(1, 9))
    assert record["2025-10-11"].calendar == "makeup" and record["2025-10-11"].working_day
    if station == "hl-01":
        assert record["2025-10-11"].verdict.value == "open"
        # The door left open over midnight keeps the 14th's morning open (no door event of the 14th before 11:35).
        assert record["2025-10-14"].verdict.value == "open"
        assert record["2025-10-14"].evidence.door_open[0] == "00:00-11:35"
        assert "readings_repeated" in record["2025-10-24"].flags
        assert record["2025-10-28"].clock_faults == 1
        assert "e-004" in record["2025-10-31"].elder_ids  # corroborated by the count of 1 November 00:00
        assert veto["failed"] == 0 and not veto["veto"]
        # The platform lost messages during the check of the 27th: the sensors may neither pass nor fail it. After
        # the window the station is shown open for ten minutes only on states set before it.
        lost = spots[("2025-10-27", "10:00")]
        assert (lost["result"], lost["reason_code"], lost["stretches"]) == (
            "unverifiable", "platform_lost_messages", ["10:20-10:30", "10:31-10:40"])
        # Its clock ran 25 minutes behind on the 29th, found by the time checks: the day counts nowhere.
        behind = record["2025-10-29"]
        assert "clock_behind" in behind.flags and behind.verdict.value == "unknown" and behind.elders == 0
        assert (spots[("2025-10-29", "09:00")]["result"], spots[("2025-10-29", "09:00")]["reason_code"]) == (
            "unverifiable", "clock_behind")
        # On the 30th its clock was set back while it was offline for the opening: its kept heartbeats show it.
        stepped = record["2025-10-30"]
        assert "clock_stepped" in stepped.flags and stepped.verdict.value == "unknown" and stepped.elders == 0
        assert stepped.clock_stepped_minutes == 30.1
        assert (spots[("2025-10-30", "09:00")]["result"], spots[("2025-10-30", "09:00")]["reason_code"]) == (
            "unverifiable", "clock_stepped")
    else:
        # The door left open at 16:00 the day before the audited month, shut at 09:00 on the holiday.
        assert record["2025-10-01"].evidence.door_open == ["00:00-09:00"]
        assert record["2025-10-15"].verdict.value == "closed"
        assert record["2025-10-22"].verdict.value == "excused"
        assert record["2025-10-23"].verdict.value == "closed" and "late_evidence" in record["2025-10-23"].flags
        results = {d: s["result"] for (d, _), s in spots.items()}
        assert results == {"2025-10-15": "fail", "2025-10-16": "fail", "2025-10-17": "fail", "2025-10-20": "fail",
                           "2025-10-21": "fail", "2025-10-22": "excused", "2025-10-30": "unverifiable"}
        # Heard live all day on the 30th, its agent answered none of the cloud's time checks: the day counts nowhere.
        silent = record["2025-10-30"]
        assert "clock_unanswered" in silent.flags and silent.verdict.value == "unknown" and silent.elders == 0
        assert (silent.time_checks, silent.time_checks_asked, silent.time_checks_unanswered) == (0, 49, 49)
        assert spots[("2025-10-30", "09:00")]["reason_code"] == "clock_unanswered"
        assert record["2025-10-29"].time_checks_asked == 49 and record["2025-10-29"].time_checks_unanswered == 0
        assert spots[("2025-10-17", "09:00")]["sensor_result"] == "unverifiable"
        # The bureau's checks count; the upheld appeal (20th) and the town's own check (21st) do not.
        assert veto["failed_dates"] == ["2025-10-15", "2025-10-16", "2025-10-17"] and veto["veto"]
    # The loss is every station's: the day is flagged with the window in local time, its verdict the sensors'.
    assert "platform_lost_messages" in record["2025-10-27"].flags
    assert record["2025-10-27"].platform_lost == ["2025-10-27 10:20 to 2025-10-27 10:30"]
    assert not any("platform_lost_messages" in r.flags for d, r in record.items() if d != "2025-10-27")
    assert not any("clock_behind" in r.flags for d, r in record.items() if (station, d) != ("hl-01", "2025-10-29"))
    assert not any("clock_unanswered" in r.flags for d, r in record.items()
                   if (station, d) != ("hl-02", "2025-10-30"))
    assert not any("clock_stepped" in r.flags for d, r in record.items() if (station, d) != ("hl-01", "2025-10-30"))


def test_events_hold_what_the_worker_reads_around_the_days(platform: tuple[str, Plans, Engine]) -> None:
    base, _, _ = platform
    bureau = client(base, "admin")
    response = bureau.get(f"{V1}/exports/stations/hl-02/events.jsonl", params=RANGE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert 'filename="events-hl-02-2025-10-01-2025-10-31.jsonl"' in response.headers["content-disposition"]
    everything = [json.loads(line) for line in response.text.splitlines()]
    # In time order, then the anchors of the sequence rule: the 23rd's late readings must fit between the numbers of
    # their devices' nearest readings heard live outside the days (30 September's last count and face; its last door
    # state is among the door states before the days, and nothing was counted or seen after them). Each is sent once:
    # the last count is also the station's last reading before the days (a backlog's bound), in time order.
    stamps = [line["payload"]["ts"] for line in everything]
    n = next(i for i in range(1, len(stamps)) if stamps[i] < stamps[i - 1])
    lines, anchors = everything[:n], everything[n:]
    times = [line["payload"]["ts"] for line in lines]
    assert all(t.endswith("+08:00") for t in times) and times == sorted(times)
    outside = [ln for ln in everything
               if not ln["topic"].endswith("/door") and ln["payload"]["ts"] < "2025-09-30T23:50"]
    assert sorted(ln["topic"] for ln in outside) == ["eldercare/v1/hl-02/cam-1/face",
                                                     "eldercare/v1/hl-02/counter-1/flow"]
    assert all(ln["payload"]["ts"].startswith("2025-09-30T1") for ln in outside)
    assert [ln["topic"] for ln in anchors] == ["eldercare/v1/hl-02/cam-1/face"]
    first_heartbeat = next(ln for ln in lines if ln["topic"].endswith("/heartbeat"))
    # Before the first midnight (16:00 UTC): the door left open at 16:00 local on the 30th, and the liveness window.
    assert any(ln["topic"] == "eldercare/v1/hl-02/door-1/door" and ln["payload"]["ts"].startswith("2025-09-30T16:00")
               for ln in lines)
    assert first_heartbeat["payload"]["ts"] >= "2025-09-30T23:50"
    assert first_heartbeat["received_by"] == audit_month.LIVE and first_heartbeat["received_at"].endswith("+00:00")
    # Before the liveness window, besides door states, only the station's last reading before it, and after the
    # face-crossing window past the last midnight only its first reading: a backlog sent later may have lost what
    # lies between them and the days.
    early = [ln for ln in lines if not ln["topic"].endswith("/door") and ln["payload"]["ts"] < "2025-09-30T23:50"]
    assert len(early) <= 1 and all(ln["topic"].split("/")[-1] in ("flow", "face", "call") for ln in early)
    beyond = [ln for ln in lines if ln["payload"]["ts"] > "2025-11-01T00:02:01"]
    assert len(beyond) <= 1 and all(ln["topic"].split("/")[-1] in ("flow", "door", "face", "call") for ln in beyond)
    # The withheld evidence of the 23rd is there, with its receipt two days later: derive sets it aside itself.
    late = [ln for ln in lines if ln["payload"]["ts"].startswith("2025-10-23T") and ln["topic"].endswith("/door")]
    assert late and all(ln["received_at"].startswith("2025-10-25T04:00") for ln in late)


def test_station_csv_is_the_registry_row_in_force_and_never_a_formula(platform: tuple[str, Plans, Engine]) -> None:
    base, _, engine = platform
    bureau = client(base, "admin")
    row = {"station_id": "hl-09", "name": "=HYPERLINK(\"http://x\",\"点击\")", "town": "汇龙镇", "grade": "3A",
           "weekdays": "1-6", "hours": "08:00-11:00", "address": "+86 路"}
    assert bureau.post(f"{V1}/registry/stations", json={**row, "open_on_holidays": True}).status_code == 201
    text = bureau.get(f"{V1}/exports/stations/hl-09/station.csv", params=RANGE).text
    cells = list(csv.reader(io.StringIO(text)))
    assert cells[0] == ["station_id", "name", "town", "grade", "weekdays", "hours", "open_on_holidays", "address",
                        "timezone", "kind"]
    assert cells[1] == ["hl-09", "'=HYPERLINK(\"http://x\",\"点击\")", "汇龙镇", "3A", "1,2,3,4,5,6", "08:00-11:00",
                        "yes", "'+86 路", "Asia/Shanghai", "station"]
    # A care centre's row has its kind and no grade: `derive --stations` reads it as one, not as a station missing
    # its grade.
    centre = {**row, "station_id": "hl-10", "name": "汇龙村照料中心", "kind": "care_centre", "grade": ""}
    assert bureau.post(f"{V1}/registry/stations", json=centre).status_code == 201
    records, problems = parse_station_csv(
        bureau.get(f"{V1}/exports/stations/hl-10/station.csv", params=RANGE).text)
    assert problems == [] and [(r.id, r.kind, r.grade) for r in records] == [("hl-10", "care_centre", None)]
    # Registered long ago; new hours from today (3 November): a range across the change is one CSV per version.
    with engine.begin() as connection:
        connection.execute(update(StationSchedule).where(StationSchedule.station_id == "hl-09")
                           .values(effective_from=date(2020, 1, 1)))
    assert bureau.put(f"{V1}/registry/stations/hl-09", json={**row, "hours": "08:00-12:00"}).status_code == 200
    across = bureau.get(f"{V1}/exports/stations/hl-09/station.csv", params={"from": "2025-10-01", "to": "2025-11-05"})
    assert across.status_code == 409 and "from 2025-11-03" in across.json()["detail"]
    before = bureau.get(f"{V1}/exports/stations/hl-09/station.csv", params={"from": "2025-10-01", "to": "2025-11-02"})
    assert list(csv.reader(io.StringIO(before.text)))[1][5] == "08:00-11:00"
    after = bureau.get(f"{V1}/exports/stations/hl-09/station.csv", params={"from": "2025-11-03", "to": "2025-11-05"})
    assert list(csv.reader(io.StringIO(after.text)))[1][5] == "08:00-12:00"


def test_who_may_download_which_station(platform: tuple[str, Plans, Engine]) -> None:
    base, plans, _ = platform
    paths = ("events.jsonl", "station.csv", "spot-checks.csv", "time-checks.csv")
    town = client(base, "town-hl")
    for path in paths:
        assert town.get(f"{V1}/exports/stations/hl-02/{path}", params=RANGE).status_code == 200
        # Another town's station answers exactly as one that does not exist.
        other = town.get(f"{V1}/exports/stations/nh-01/{path}", params=RANGE)
        missing = town.get(f"{V1}/exports/stations/zz-99/{path}", params=RANGE)
        assert other.status_code == missing.status_code == 404
        assert other.json()["detail"] == "no station 'nh-01' in your scope"
        assert httpx.get(f"{base}{V1}/exports/stations/hl-02/{path}", params=RANGE).status_code == 401
        assert client(base, "dispatch").get(f"{V1}/exports/stations/hl-02/{path}", params=RANGE).status_code == 403
    staff = client(base, "staff-hl2")
    own = staff.get(f"{V1}/exports/stations/hl-02/events.jsonl", params=RANGE)
    assert own.status_code == 200 and own.text.count("\n") > 10_000
    assert staff.get(f"{V1}/exports/stations/hl-02/station.csv", params=RANGE).status_code == 200
    assert staff.get(f"{V1}/exports/stations/hl-01/events.jsonl", params=RANGE).status_code == 404
    # Spot checks are unannounced: never a station's to see, not even its own past ones.
    assert staff.get(f"{V1}/exports/stations/hl-02/spot-checks.csv", params=RANGE).status_code == 403
    assert staff.get(f"{V1}/onsite/decisions.csv", params={"station": "hl-02"}).status_code == 403
    # The decisions of one station only, and never another town's.
    decisions = client(base, "admin").get(f"{V1}/onsite/decisions.csv", params={"station": "hl-02"}).text
    assert decisions.splitlines()[1].startswith("hl-02,2025-10-17,09:00,10:00,fail,'=现场关门")
    assert len(town.get(f"{V1}/onsite/decisions.csv", params={"station": "nh-01"}).text.splitlines()) == 1
    # The town's own check is listed with its planner; the bureau's too.
    checks = list(csv.DictReader(io.StringIO(town.get(f"{V1}/exports/stations/hl-02/spot-checks.csv",
                                                      params=RANGE).text)))
    assert [(c["date"], c["planner"]) for c in checks] == [
        ("2025-10-15", "bureau"), ("2025-10-16", "bureau"), ("2025-10-17", "bureau"), ("2025-10-20", "bureau"),
        ("2025-10-21", "town"), ("2025-10-22", "bureau"), ("2025-10-30", "bureau")]
    assert plans.town


def test_the_time_checks_sent_are_the_stations_own_and_an_older_export_without_them_still_derives(
        platform: tuple[str, Plans, Engine], tmp_path: Path) -> None:
    """The checks sent to a station in its local days, for the station's staff too (past checks tell nothing of the
    next); cells never formulas. An export from before the record (no time-checks.csv) derives, the rule silent."""
    base, _, _ = platform
    staff = client(base, "staff-hl2")
    text = staff.get(f"{V1}/exports/stations/hl-02/time-checks.csv", params=RANGE)
    assert text.status_code == 200 and 'filename="time-checks-hl-02-2025-10-01-2025-10-31.csv"' in \
        text.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(text.text)))
    assert rows[0] == ["station", "check", "asked_at"] and len(rows) == 1 + 2 * 49
    assert rows[1] == ["hl-02", "hl-02-0", "2025-10-28T23:00:00+00:00"]  # 07:00 in Shanghai on the 29th
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    one_day = staff.get(f"{V1}/exports/stations/hl-02/time-checks.csv", params={"from": "2025-10-30",
                                                                               "to": "2025-10-30"}).text
    assert len(one_day.splitlines()) == 1 + 49 and "hl-02-30-0," in one_day
    assert staff.get(f"{V1}/exports/stations/hl-01/time-checks.csv", params=RANGE).status_code == 404
    bureau = client(base, "admin")
    files = {"stations": download(bureau, "/exports/stations/hl-02/station.csv", tmp_path / "hl-02.csv", RANGE),
             "events": download(bureau, "/exports/stations/hl-02/events.jsonl", tmp_path / "hl-02.jsonl", RANGE)}
    days = {ln["date"]: ln for ln in derive(files, tmp_path) if ln["type"] == "day"}
    assert "clock_unanswered" not in days["2025-10-30"]["flags"] and days["2025-10-30"]["verdict"] == "open"


def test_a_check_still_to_come_is_in_no_export(platform: tuple[str, Plans, Engine]) -> None:
    """The bureau plans hl-02 for this afternoon: until its window ends no download tells anyone of it."""
    base, _, engine = platform
    with make_session_factory(engine)() as session:
        create_plan(session, day=NOW.date(), start=time(14), end=time(15), scope="stations", stations=["hl-02"],
                    created_by="admin", now=NOW)
        session.commit()
    today = {"from": "2025-11-01", "to": NOW.date().isoformat()}
    for name in ("admin", "town-hl"):
        checks = client(base, name).get(f"{V1}/exports/stations/hl-02/spot-checks.csv", params=today)
        assert checks.status_code == 200 and checks.text == "date,start,end,station,planner\n"


@pytest.mark.parametrize(("params", "why"), [
    ({"from": "2025-10-32", "to": "2025-10-31"}, "valid date"),
    ({"from": "yesterday", "to": "2025-10-31"}, "valid date"),
    ({"to": "2025-10-31"}, "Field required"),
    ({"from": "2025-10-31", "to": "2025-10-01"}, "'to' 2025-10-01 is before 'from' 2025-10-31"),
    ({"from": "2024-01-01", "to": "2025-01-01"}, "2024-01-01..2025-01-01 is 367 days: export at most 366"),
    ({"from": "9999-12-31", "to": "9999-12-31"}, "9999-12-31 is outside 2000..2100"),
    ({"from": "0001-01-01", "to": "0001-01-02"}, "0001-01-01 is outside 2000..2100"),
])
def test_bad_ranges_are_refused_with_the_reason(platform: tuple[str, Plans, Engine], params: dict[str, str],
                                                why: str) -> None:
    base, _, _ = platform
    bureau = client(base, "admin")
    for path in ("events.jsonl", "station.csv", "spot-checks.csv", "time-checks.csv"):
        response = bureau.get(f"{V1}/exports/stations/hl-01/{path}", params=params)
        assert response.status_code == 422, response.text
        assert why in response.text
    response = bureau.get(f"{V1}/exports/ingest-losses.csv", params=params)
    assert response.status_code == 422 and why in response.text, response.text


def test_hostile_station_ids_and_a_full_leap_year(platform: tuple[str, Plans, Engine]) -> None:
    base, _, _ = platform
    bureau = client(base, "admin")
    for station in ("..%2F..%2Fetc", "HL-01'--", "a" * 64):
        assert bureau.get(f"{V1}/exports/stations/{station}/events.jsonl", params=RANGE).status_code in (404, 422)
    leap = bureau.get(f"{V1}/exports/stations/hl-01/events.jsonl", params={"from": "2024-01-01", "to": "2024-12-31"})
    # 366 days, nothing stored then: only the station's first reading after them (a backlog bound, see above).
    assert leap.status_code == 200
    assert [json.loads(line)["payload"]["ts"][:10] for line in leap.text.splitlines()] == ["2025-09-29"]
    assert date(2024, 12, 31) - date(2024, 1, 1) == timedelta(days=365)


def test_the_lost_messages_windows_are_the_bureaus_and_towns_and_hold_no_station(
        platform: tuple[str, Plans, Engine]) -> None:
    base, _, _ = platform
    path = f"{V1}/exports/ingest-losses.csv"
    expected = ("client_id,lost_from,lost_to,reason\n"
                f"{audit_month.DEVICES},2025-10-27T02:20:00+00:00,2025-10-27T02:30:00+00:00,lost_while_away\n")
    for name in ("admin", "town-hl"):
        response = client(base, name).get(path, params=RANGE)
        assert response.status_code == 200 and response.text == expected
        assert response.headers["content-type"].startswith("text/csv")
        assert 'filename="ingest-losses-2025-10-01-2025-10-31.csv"' in response.headers["content-disposition"]
    # Windows from the days on, in any station's zone: the 27th's is the 28th's and the 29th's (a day's margin, and
    # the door lookback before: a door state carried across a window is not evidence), which derive reads past (it
    # judges each day by the windows touching it or its lookback), and September's too: a backlog of September sent
    # late, after an outage, may have lost readings in it.
    bureau = client(base, "admin")
    header = "client_id,lost_from,lost_to,reason\n"
    assert bureau.get(path, params={"from": "2025-09-01", "to": "2025-09-30"}).text == expected
    assert bureau.get(path, params={"from": "2025-10-28", "to": "2025-10-28"}).text == expected
    assert bureau.get(path, params={"from": "2025-10-29", "to": "2025-10-29"}).text == expected
    assert bureau.get(path, params={"from": "2025-10-30", "to": "2025-10-31"}).text == header
    assert client(base, "staff-hl2").get(path, params=RANGE).status_code == 403
    assert client(base, "dispatch").get(path, params=RANGE).status_code == 403
    assert httpx.get(f"{base}{path}", params=RANGE).status_code == 401
