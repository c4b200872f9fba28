"""`eldercare demo` started as the README says, then stopped with Ctrl-C, on a fixed day (`--today`) so the run does
not depend on today's date: a statutory holiday Monday, and ten past midnight in Shanghai (still the day before in
UTC)."""

import functools
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloud.registry.csv_rows import parse_station_csv
from eldercare.demo import MARKER, demo_clock, is_holiday, parse_today, wipeable
from simulators.fleet import build_fleet, stations_csv
from simulators.fleet_commands import Span
from tests.localservices import free_port
from tests.platform.support import env_for, login, running
from tests.wait import poll

DAYS = [
    pytest.param("2026-10-05T15:00", date(2026, 10, 5), id="national-day-holiday-monday"),
    pytest.param("2026-10-13T00:10", date(2026, 10, 13), id="just-after-midnight-in-shanghai"),  # 10-12 16:10 UTC
]


@pytest.mark.parametrize(("today_arg", "today"), DAYS)
def test_demo_reaches_stations_counts_a_failed_spot_check_and_an_emergency_alert(
        tmp_path: Path, today_arg: str, today: date) -> None:
    port = free_port()
    args = ["demo", "--stations", "6", "--days", "7", "--speed", "0", "--port", str(port),
            "--data-dir", str(tmp_path / "demo"), "--today", today_arg]
    with running(args, tmp_path, port) as demo:
        logins = demo.wait_for_line("logins (password", timeout=120)
        # The password is new at each start: no one who read the README can log in to someone's demo.
        found = re.search(r"logins \(password (\S+)\):", logins)
        assert found and len(found.group(1)) >= 16, logins
        password = found.group(1)
        # The simulated fleet connects without passwords: allowed, loudly, and only on loopback.
        assert "warning: --allow-anonymous" in "".join(demo.lines)
        assert "on 127.0.0.1:" in demo.wait_for_line("MQTT broker", timeout=1)
        demo.wait_for_line("the demo is live", timeout=300)
        headers = login(demo.api, "admin", password)

        def get(path: str, **params: Any) -> Any:
            response = httpx.get(f"{demo.api}{path}", params=params, headers=headers, timeout=30)
            response.raise_for_status()
            return response.json()

        stations = get("/stations")
        assert len(stations) == 6 and len({s["town"] for s in stations}) == 3
        # A care centre and a neighbourhood point among them, registered with no grade; the rest graded stations.
        kinds = {s["id"]: (s["kind"], s["grade"]) for s in stations}
        assert {sid: kg for sid, kg in kinds.items() if kg[0] != "station"} == {
            "qd-lvsi-02": ("care_centre", None), "qd-nanyang-02": ("neighbourhood_point", None)}
        assert all(grade for kind, grade in kinds.values() if kind == "station")
        assert "qd-lvsi-02 is a care centre (照料中心) and qd-nanyang-02 a neighbourhood point (睦邻点)" in \
            "".join(demo.lines)

        # The stations' yesterday, whatever this machine's zone.
        yesterday = today - timedelta(days=1)

        def counted(station: str) -> dict[str, Any] | None:
            month: dict[str, Any] = get(f"/stations/{station}/months/{yesterday:%Y-%m}")
            return month if month["person_times"] > 0 else None

        # Every site's visits are counted; a graded station is held to its grade's figure, the others read not
        # applicable (null, with the reason), never a failure, and their elders served are still reported.
        months: dict[str, dict[str, Any]] = {}
        for station, (kind, grade) in kinds.items():
            months[station] = month = poll(functools.partial(counted, station), timeout=120, interval=0.5,
                                           what=f"{station}'s person-times counted")
            assert (month["kind"], month["grade"]) == (kind, grade)
            if kind == "station":
                assert month["threshold"] > 0 and not (month["met_reason"] or "").startswith("not graded"), month
            else:
                assert month["elders"] > 0, month
                assert (month["threshold"], month["met"], month["projection"], month["at_risk"]) == (
                    None, None, None, None), month
                assert month["met_reason"].startswith("not graded"), month
        # A graded station with a face camera has its elders served counted against its figure.
        assert any(months[s]["elders"] > 0 for s, (k, g) in kinds.items() if k == "station" and g != "2A"), months

        failed = poll(lambda: [r for r in get("/spot-checks/results") if r["result"] == "fail"], timeout=120,
                      interval=0.5, what="a failed spot check")
        assert {r["station"] for r in failed} == {"qd-huilong-01"}

        # Its three checks fall on working days (none on the National Day holiday, where it would be excused): the
        # closed station fails all three, the veto.
        def three_fails() -> list[str] | None:
            days = sorted(r["date"] for r in get("/spot-checks/results") if r["result"] == "fail")
            return days if len(days) == 3 else None

        check_days = [date.fromisoformat(d) for d in poll(three_fails, timeout=120, interval=0.5,
                                                            what="three failed spot checks")]
        assert all(d.isoweekday() <= 5 and d < today for d in check_days), check_days
        assert not [d for d in check_days if date(2026, 10, 1) <= d <= date(2026, 10, 7)], check_days

        # The year's veto: the closed station's, a graded station's "no", and 不适用 (null) for the ungraded sites,
        # whose checks were judged all the same.
        def vetoes() -> dict[str, bool | None] | None:
            rows = {v["station"]: v["veto"] for v in get("/spot-checks/vetoes", year=check_days[0].year)}
            return rows if set(rows) == set(kinds) else None

        assert poll(vetoes, timeout=120, interval=0.5, what="every site's veto row") == {
            sid: (None if kind != "station" else sid == "qd-huilong-01") for sid, (kind, _) in kinds.items()}
        assessed = {r["station"]: r for r in get(f"/assessments/{check_days[0].year}")}
        assert {sid for sid, r in assessed.items() if not r["graded"]} == {"qd-lvsi-02", "qd-nanyang-02"}
        assert all(r["subsidy_cny"] is None and r["threshold"] is None for r in assessed.values() if not r["graded"])
        assert all(r["subsidy_cny"] > 0 and r["threshold"] > 0 for r in assessed.values() if r["graded"])

        calls = poll(lambda: get("/alerts", kind="emergency_call"), timeout=120, interval=0.5,
                     what="an emergency alert")
        assert {a["station"] for a in calls} == {"qd-huilong-02", "qd-lvsi-02"}

        # Home care: the simulated providers' four weeks, their fraud patterns raised to the provider's town.
        double = get("/alerts", kind="homecare_double_booked")
        assert [(a["town"], a["evidence"]["caregiver"]) for a in double] == [("汇龙镇", "K03")]
        figures = get(f"/homecare/figures/providers/{yesterday:%Y-%m}")
        assert {f["provider"] for f in figures} == {"p-kangle", "p-leling"} and sum(f["orders"] for f in figures)

        progress = [tuple(map(int, m.groups())) for line in demo.lines
                    if (m := re.search(r"\(day (\d+)/(\d+),", line))]
        assert progress and all(n <= total for n, total in progress), progress
        assert [n for n, _ in progress] == list(range(1, progress[-1][1] + 1)), progress
        assert demo.stop() == 0
        assert "stopped cleanly" in "".join(demo.lines)



@pytest.mark.parametrize(("value", "error"), [
    ("2026-13-40", "'2026-13-40' is not a date YYYY-MM-DD or a local time YYYY-MM-DDTHH:MM"),
    ("2026-10-05T08:00+00:00", "'2026-10-05T08:00+00:00' is not a date YYYY-MM-DD or a local time YYYY-MM-DDTHH:MM"),
    ("2999-01-01", "2999-01-01T12:00:00+08:00 is in the future: the platform refuses events from its future"),
    ("2020-01-10", "30 days before 2020-01-10 is before 2020: the platform refuses device times that early"),
])
def test_demo_refuses_a_day_it_cannot_simulate_in_one_line(tmp_path: Path, value: str, error: str) -> None:
    result = subprocess.run([sys.executable, "-m", "eldercare", "demo", "--today", value,
                             "--data-dir", str(tmp_path / "demo")], env=env_for(tmp_path), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"eldercare: error: Invalid value for --today: {error} (see 'eldercare demo --help')"]
    assert not (tmp_path / "demo").exists()  # refused before anything was wiped or started


def test_the_demo_clock_starts_at_the_given_moment_in_shanghai_and_runs_on() -> None:
    clock = demo_clock(parse_today("2026-10-13T00:10"), days=7)
    first = clock()
    assert first.tzinfo is not None and (first.date(), first.hour) == (date(2026, 10, 12), 16)  # UTC: the day before
    span = Span.last_days(7, first)
    assert (span.first, span.last) == (date(2026, 10, 6), date(2026, 10, 13))
    assert poll(lambda: clock() > first, timeout=5, what="the demo clock moving on")
    assert parse_today("2026-10-05").hour == 12  # a day alone is its noon


def test_the_demo_fleet_has_a_care_centre_and_a_neighbourhood_point_beside_graded_stations() -> None:
    span = Span.last_days(7, parse_today("2026-10-13T00:10"))
    fleet = build_fleet(5, span.first, span.last, span.now, holiday=is_holiday)
    kinds = [(s.station, s.kind, s.grade) for s in fleet.stations]
    assert kinds == [("qd-huilong-01", "station", "2A"), ("qd-lvsi-01", "station", "3A"),
                     ("qd-nanyang-01", "station", "4A"), ("qd-huilong-02", "care_centre", None),
                     ("qd-lvsi-02", "neighbourhood_point", None)]
    assert (fleet.care_centre, fleet.neighbourhood_point) == ("qd-huilong-02", "qd-lvsi-02")
    # The three problem cases stay graded stations: a veto or a missed threshold is a station's.
    assert {fleet.closed_on_checks, fleet.below_threshold, fleet.offline} == {s for s, k, _ in kinds[:3]}
    # The registry's CSV, as the demo writes it, imports each with its kind and no grade for the ungraded two.
    records, problems = parse_station_csv(stations_csv(fleet))
    assert problems == [] and [(r.id, r.kind, r.grade) for r in records] == kinds
    assert [s.name for s in fleet.stations[3:]] == ["汇龙镇第2日间照料中心", "吕四港镇第2睦邻点"]
    # Too small a fleet for them keeps its problem cases.
    assert {s.kind for s in build_fleet(4, span.first, span.last, span.now).stations} == {"station"}


def test_the_demo_spot_checks_avoid_the_national_day_holiday() -> None:
    # A week ending on the holiday Monday: 9-28..9-30 are working days, 10-01 and 10-02 are National Day weekdays.
    span = Span.last_days(7, parse_today("2026-10-05T15:00"))
    fleet = build_fleet(6, span.first, span.last, span.now, holiday=is_holiday)
    assert fleet.check_days == [date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30)]
    # Without the calendar the checks would include a holiday, where the closed station is excused, not vetoed.
    assert date(2026, 10, 1) in build_fleet(6, span.first, span.last, span.now).check_days


@pytest.mark.parametrize(("args", "command"), [
    (["demo", "--speed", "-1"], "demo"),
    (["simulate", "fleet", "--speed", "-1"], "simulate fleet"),
    (["simulate", "station", "--config", "firmware_config/examples/qd-huilong-01.yaml", "--speed", "-1"],
     "simulate station"),
])
def test_a_negative_speed_is_one_line_and_exit_status_2(tmp_path: Path, args: list[str], command: str) -> None:
    # It used to seed the whole demo "at -1x" (as fast as it could) instead of saying the value was bad.
    result = subprocess.run([sys.executable, "-m", "eldercare", *args], env=env_for(tmp_path), capture_output=True,
                            text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"eldercare: error: Invalid value for '--speed': -1.0 is not in the range x>=0. "
        f"(see 'eldercare {command} --help')"]


def test_the_demo_wipes_only_a_folder_it_made(tmp_path: Path) -> None:
    # `--data-dir data` (serve's folder) would have deleted the bureau's store, users and broker accounts.
    served = tmp_path / "data"
    served.mkdir()
    (served / "eldercare.db").write_bytes(b"the bureau's records")
    result = subprocess.run([sys.executable, "-m", "eldercare", "demo", "--data-dir", str(served)],
                            env=env_for(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"eldercare: error: Invalid value for --data-dir: {served} holds data the demo did not make; the demo wipes "
        "its folder at each start, so give it a new or empty one (see 'eldercare demo --help')"]
    assert (served / "eldercare.db").read_bytes() == b"the bureau's records"

    assert wipeable(tmp_path / "new") == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    assert wipeable(tmp_path / "empty") == tmp_path / "empty"
    made = tmp_path / "made"
    made.mkdir()
    (made / MARKER).write_text("")
    (made / "eldercare.db").write_bytes(b"a demo's")
    assert wipeable(made) == made
    older = tmp_path / "older"  # a demo's folder from before the marker
    older.mkdir()
    for name in ("stations.csv", "rules.json", "eldercare.db"):
        (older / name).write_text("")
    assert wipeable(older) == older
