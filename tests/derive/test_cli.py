"""`eldercare cloud derive`: the audit recompute from raw files, with no server."""

import json
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from eldercare.cli import cli
from station_protocol import Face, encode
from tests.derive.conftest import AuditFiles, fortnight
from tests.rules.scenario import TZ


def run(files: AuditFiles, *extra: str, events: Path | None = None) -> tuple[list[dict[str, Any]], str]:
    args = ["cloud", "derive", "--stations", str(files.stations), "--events", str(events or files.events),
            "--from", "2026-10-01", "--to", "2026-10-16", *extra]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output + result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()], result.stderr


def by(lines: list[dict[str, Any]], kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    key = {"day": "date", "month": "month", "spot_check": "date", "veto": "year"}[kind]
    return {(ln["station"], str(ln[key])): ln for ln in lines if ln["type"] == kind}


def test_day_lines_match_the_ground_truth(audit_files: AuditFiles) -> None:
    lines, _ = run(audit_files, "--exceptions", str(audit_files.exceptions))
    days = by(lines, "day")
    assert len(days) == 2 * 16
    for line in days.values():
        assert {"station", "date", "working_day", "compliance", "verdict", "person_times", "elders"} <= set(line)
    a = {d: days[("qd-a", d)] for _, d in days if _ == "qd-a"}
    assert a["2026-10-12"]["verdict"] == "open" and a["2026-10-12"]["compliance"] == 1.0
    assert a["2026-10-13"]["late_open_minutes"] == 50 and a["2026-10-13"]["verdict"] == "partial"
    assert a["2026-10-14"]["verdict"] == "closed" and a["2026-10-14"]["compliance"] == 0.0
    assert a["2026-10-15"]["unknown_minutes"] >= 59
    assert a["2026-10-15"]["closed_minutes"] == 0  # the offline hour is unknown, not closed ...
    # ... nor open: compliance is the open share of the scheduled minutes, and the hour is evidence on the day.
    assert a["2026-10-15"]["verdict"] == "partial" and a["2026-10-15"]["compliance"] <= 331 / 390
    assert a["2026-10-15"]["known_share"] == a["2026-10-15"]["compliance"]
    assert a["2026-10-15"]["equipment_off"] and "equipment_off" in a["2026-10-15"]["flags"]
    assert a["2026-10-01"]["verdict"] == "not_scheduled" and a["2026-10-01"]["working_day"] is False
    assert a["2026-10-01"]["holiday"] == "National Day" and a["2026-10-01"]["person_times"] == 1
    assert a["2026-10-06"]["verdict"] == "not_scheduled"  # a Tuesday inside the golden week
    assert a["2026-10-09"]["verdict"] == "unknown" and a["2026-10-09"]["working_day"] is True  # nothing heard
    assert a["2026-10-10"]["calendar"] == "makeup" and a["2026-10-10"]["working_day"] is True
    # Staff walk through the counter but are not person-times.
    monday = fortnight()["qd-a"][0]
    assert a["2026-10-12"]["person_times"] == sum(1 for v in monday.visits if v[2] != "staff")
    assert a["2026-10-12"]["staff_visits"] == 1 and a["2026-10-12"]["entries"] == len(monday.visits)
    assert a["2026-10-12"]["elders"] == 5
    b16 = days[("qd-b", "2026-10-16")]
    assert b16["verdict"] == "excused" and b16["excused"] == "renovation approved by the town"


def test_month_lines_judge_the_grade_threshold(audit_files: AuditFiles) -> None:
    lines, _ = run(audit_files)
    months = by(lines, "month")
    a, b = months[("qd-a", "2026-10")], months[("qd-b", "2026-10")]
    assert (a["threshold"], b["threshold"]) == (50, 100)  # 2A and 3A
    assert a["basis"] == "elders" and a["elders"] == 6 and a["met"] is False
    assert a["person_times"] == sum(d["person_times"] for d in lines if d["type"] == "day" and d["station"] == "qd-a")
    # qd-b has no camera: whether it met the threshold cannot be confirmed; person-times are still reported.
    assert b["basis"] == "unconfirmed" and b["met"] is None and b["met_reason"] and b["figure"] is None
    assert b["elders"] == 0 and b["person_times"] > 0
    assert a["at_risk"] is True and a["complete"] is False and a["as_of"] == "2026-10-16"


def test_spot_checks_and_veto(audit_files: AuditFiles) -> None:
    lines, _ = run(audit_files, "--spot-checks", str(audit_files.checks))
    checks = [ln for ln in lines if ln["type"] == "spot_check"]
    results = {(c["station"], c["date"], c["start"]): c["result"] for c in checks}
    assert results == {
        ("qd-a", "2026-10-14", "09:00"): "fail",
        ("qd-b", "2026-10-14", "09:00"): "pass",
        ("qd-a", "2026-10-15", "09:00"): "unverifiable",
        ("qd-a", "2026-10-13", "14:00"): "pass",
        ("qd-b", "2026-10-13", "14:00"): "pass",
    }
    vetoes = by(lines, "veto")
    assert (vetoes[("qd-a", "2026")]["failed"], vetoes[("qd-a", "2026")]["veto"]) == (1, False)
    assert vetoes[("qd-b", "2026")]["failed"] == 0


def test_bad_lines_are_reported_with_their_number_and_not_fatal(audit_files: AuditFiles, tmp_path: Path) -> None:
    good = audit_files.events.read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([
        good[0], "{not json", json.dumps({"topic": "eldercare/v1/qd-a/door-1/door", "payload": {"v": 1}}),
        json.dumps({"payload": {}}), *good[1:],
    ]) + "\n", encoding="utf-8")
    lines, stderr = run(audit_files, events=bad)
    assert "line 2: not a protocol event line" in stderr
    assert "line 3: " in stderr and "id" in stderr
    assert "line 4: " in stderr
    assert "3 bad" in stderr
    clean, _ = run(audit_files)
    assert lines == clean


def test_order_of_lines_does_not_change_the_answer(audit_files: AuditFiles, tmp_path: Path) -> None:
    reversed_file = tmp_path / "reversed.jsonl"
    reversed_file.write_text("\n".join(reversed(audit_files.events.read_text().splitlines())) + "\n")
    assert run(audit_files, "--spot-checks", str(audit_files.checks), events=reversed_file)[0] == run(
        audit_files, "--spot-checks", str(audit_files.checks))[0]


def test_errors_are_one_line(audit_files: AuditFiles, tmp_path: Path) -> None:
    checks = tmp_path / "bad_checks.csv"
    checks.write_text("date,start,end,station\n2026-10-14,10:00,09:00,\n")
    proc = subprocess.run(
        [sys.executable, "-m", "eldercare", "cloud", "derive", "--stations", str(audit_files.stations),
         "--events", str(audit_files.events), "--from", "2026-10-01", "--to", "2026-10-16",
         "--spot-checks", str(checks)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("eldercare: error: ")
    assert "line 2" in proc.stderr and proc.stdout == ""


def test_rules_file_and_quarters(audit_files: AuditFiles, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("open_share: 0.8\ngrade_thresholds: {2A: 5, 3A: 100, 4A: 300, 5A: 300}\n")
    lines, _ = run(audit_files, "--rules", str(rules), "--quarters")
    days = by(lines, "day")
    assert days[("qd-a", "2026-10-13")]["verdict"] == "open"  # 88 % is open at an 80 % threshold
    month = by(lines, "month")[("qd-a", "2026-10")]
    assert (month["threshold"], month["met"]) == (5, True)
    quarters = [ln for ln in lines if ln["type"] == "quarter"]
    assert {q["quarter"] for q in quarters} == {"2026-Q4"} and len(quarters) == 2
    rules.write_text("open_share: 0.1\nclosed_share: 0.2\n")
    result = CliRunner().invoke(cli, ["cloud", "derive", "--stations", str(audit_files.stations), "--events",
                                      str(audit_files.events), "--from", "2026-10-01", "--to", "2026-10-02",
                                      "--rules", str(rules)])
    assert result.exit_code == 1 and "closed_share must be below open_share" in result.output


def test_worker_command_runs_a_pass(audit_files: AuditFiles, tmp_path: Path, postgres_url: str) -> None:
    """`eldercare cloud worker --once` on the embedded SQLite store, as an operator runs it: no migrate step."""
    import os

    env = {**os.environ, "ELDERCARE_DATA_DIR": str(tmp_path / "data"), "ELDERCARE_MQTT_URL": "mqtt://127.0.0.1:1"}
    env.pop("ELDERCARE_DATABASE_URL", None)
    eldercare = [sys.executable, "-m", "eldercare"]
    refused = subprocess.run([*eldercare, "cloud", "worker", "--once"],
                             env={**env, "ELDERCARE_DATABASE_URL": postgres_url}, capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 1 and "not migrated" in refused.stderr and "eldercare cloud migrate" in refused.stderr
    # The platform's own process creates the embedded store (an operator's import would refuse a missing one).
    first = subprocess.run([*eldercare, "cloud", "worker", "--once"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert first.returncode == 0, first.stderr
    subprocess.run([*eldercare, "cloud", "stations", "import", str(audit_files.stations)], env=env, check=True,
                   capture_output=True, timeout=120)
    done = subprocess.run([*eldercare, "cloud", "worker", "--once"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "0 errors" in done.stderr and "days of 2 stations" in done.stderr


def test_worker_finds_the_store_by_data_dir_like_every_command(audit_files: AuditFiles, tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    env["ELDERCARE_MQTT_URL"] = "mqtt://127.0.0.1:1"
    data = ["--data-dir", str(tmp_path / "elsewhere")]
    eldercare = [sys.executable, "-m", "eldercare"]
    for args in (["cloud", "migrate", *data], ["cloud", "stations", "import", str(audit_files.stations), *data]):
        subprocess.run([*eldercare, *args], env=env, check=True, capture_output=True, timeout=120, cwd=tmp_path)
    done = subprocess.run([*eldercare, "cloud", "worker", "--once", *data], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "days of 2 stations" in done.stderr and not (tmp_path / "data").exists()


def test_veto_counts_failed_station_days_whatever_the_windows(audit_files: AuditFiles) -> None:
    # qd-a: closed all day on the 14th (three windows), open only from 09:20 on the 13th (a long window).
    audit_files.checks.write_text(
        "date,start,end,station\n2026-10-14,09:00,10:00,qd-a\n2026-10-14,10:00,11:00,qd-a\n"
        "2026-10-14,14:00,15:00,qd-a\n2026-10-13,08:30,11:30,qd-a\n2026-10-13,10:00,11:00,qd-a\n", encoding="utf-8")
    lines, _ = run(audit_files, "--spot-checks", str(audit_files.checks))
    results = [(c["date"], c["start"], c["result"]) for c in lines if c["type"] == "spot_check"]
    assert results == [("2026-10-14", "09:00", "fail"), ("2026-10-14", "10:00", "fail"),
                       ("2026-10-14", "14:00", "fail"), ("2026-10-13", "08:30", "fail"),
                       ("2026-10-13", "10:00", "pass")]
    late = next(c for c in lines if c["type"] == "spot_check" and c["start"] == "08:30")
    assert late["stretches"] == ["08:30-09:20"] and late["open_minutes"] > late["closed_minutes"]
    veto = by(lines, "veto")[("qd-a", "2026")]
    assert (veto["failed"], veto["veto"], veto["failed_dates"]) == (2, False, ["2026-10-13", "2026-10-14"])


def test_upheld_appeals_leave_their_checks_out_of_the_veto(audit_files: AuditFiles, tmp_path: Path) -> None:
    # qd-a fails all three windows of the 14th and the long one of the 13th (see the test above). The appeals file
    # is the dashboard's export: the 13th upheld, one window of the 14th upheld, another rejected.
    audit_files.checks.write_text(
        "date,start,end,station\n2026-10-14,09:00,10:00,qd-a\n2026-10-14,10:00,11:00,qd-a\n"
        "2026-10-14,14:00,15:00,qd-a\n2026-10-13,08:30,11:30,qd-a\n", encoding="utf-8")
    appeals = tmp_path / "appeals.csv"
    appeals.write_text("station,date,start,end,outcome,reason\nqd-a,2026-10-13,08:30,11:30,upheld,停电\n"
                       "qd-a,2026-10-14,09:00,10:00,upheld,停电\nqd-a,2026-10-14,10:00,11:00,rejected,无证明\n",
                       encoding="utf-8")
    lines, _ = run(audit_files, "--spot-checks", str(audit_files.checks), "--appeals", str(appeals))
    assert [c["result"] for c in lines if c["type"] == "spot_check"] == ["fail"] * 4  # results are kept
    veto = by(lines, "veto")[("qd-a", "2026")]
    assert (veto["failed"], veto["failed_dates"]) == (1, ["2026-10-14"])  # the 14th still failed twice more
    appeals.write_text("station,date,start,end,outcome,reason\nqd-a,2026-10-13,08:30,11:30,granted,x\n")
    args = ["cloud", "derive", "--stations", str(audit_files.stations), "--events", str(audit_files.events),
            "--from", "2026-10-01", "--to", "2026-10-16", "--appeals", str(appeals)]
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 1 and "appeals CSV line 2: outcome 'granted'" in done.output


def test_the_bureaus_decisions_count_toward_the_veto(audit_files: AuditFiles, tmp_path: Path) -> None:
    """The decisions file the dashboard exports: a disputed check counts as the bureau decided it, the line keeps
    what the sensors said, and a file that does not fit the checks is one clear error."""
    decisions = tmp_path / "decisions.csv"
    decisions.write_text(
        "station,date,start,end,outcome,reason,decided_by,sensor_result,found\n"
        "qd-a,2026-10-14,09:00,10:00,pass,门磁故障，现场开放,admin,fail,open\n"
        "qd-b,2026-10-14,09:00,10:00,fail,现场关门,admin,pass,closed\n", encoding="utf-8")
    lines, _ = run(audit_files, "--spot-checks", str(audit_files.checks), "--decisions", str(decisions))
    checks = {(c["station"], c["date"], c["start"]): c for c in lines if c["type"] == "spot_check"}
    a, b = checks[("qd-a", "2026-10-14", "09:00")], checks[("qd-b", "2026-10-14", "09:00")]
    assert (a["result"], a["sensor_result"], a["decision"]["reason"]) == ("pass", "fail", "门磁故障，现场开放")
    assert (b["result"], b["sensor_result"], b["decision"]["found"]) == ("fail", "pass", "closed")
    assert "decision" not in checks[("qd-a", "2026-10-15", "09:00")]
    vetoes = by(lines, "veto")
    assert (vetoes[("qd-a", "2026")]["failed"], vetoes[("qd-b", "2026")]["failed_dates"]) == (0, ["2026-10-14"])
    for bad, says in (
        ("qd-a,2026-10-16,09:00,10:00,pass,x,admin,fail,open\n", "matches no spot check"),
        ("qd-a,2026-10-14,09:00,10:00,unverifiable,x,admin,fail,open\n", "line 2: outcome"),
        ("qd-a,2026-10-14,09:00,10:00,pass,x,admin,fail,open\nqd-a,2026-10-14,09:00,10:00,fail,y,admin,fail,open\n",
         "line 3: a different decision"),
    ):
        decisions.write_text("station,date,start,end,outcome,reason,decided_by,sensor_result,found\n" + bad)
        result = CliRunner().invoke(cli, ["cloud", "derive", "--stations", str(audit_files.stations), "--events",
                                          str(audit_files.events), "--from", "2026-10-01", "--to", "2026-10-16",
                                          "--spot-checks", str(audit_files.checks), "--decisions", str(decisions)])
        assert result.exit_code == 1 and says in result.output + result.stderr, (bad, result.output)


def test_photographs_are_not_elders_served_in_the_audit_lines(audit_files: AuditFiles, tmp_path: Path) -> None:
    """Ten enrolled elders' photographs shown to qd-a's camera within a minute one afternoon, nobody counted in for
    them: the day and month lines leave them out of `elders`, name them in `uncorroborated_elder_ids` and flag the
    day; the elders who walked in are served as before."""
    shown = datetime(2026, 10, 13, 15, 0, tzinfo=TZ)
    photos = [Face.model_validate({"v": 1, "id": uuid.UUID(int=0x4000_8000_0000_0000 + i), "station": "qd-a",
                                   "device": "cam-1", "seq": 90_000 + i, "ts": shown + timedelta(seconds=5 * i),
                                   "person": f"p-{i:02d}", "role": "elder", "distance": 0.4}) for i in range(10)]
    events = tmp_path / "with-photos.jsonl"
    events.write_text(audit_files.events.read_text(encoding="utf-8") + "".join(
        json.dumps({"topic": "eldercare/v1/qd-a/cam-1/face", "payload": json.loads(encode(p))}) + "\n"
        for p in photos), encoding="utf-8")
    before, _ = run(audit_files)
    lines, _ = run(audit_files, events=events)
    day, honest = by(lines, "day")[("qd-a", "2026-10-13")], by(before, "day")[("qd-a", "2026-10-13")]
    assert day["elders"] == honest["elders"] and day["elder_ids"] == honest["elder_ids"]
    assert day["uncorroborated_elder_ids"] == [f"p-{i:02d}" for i in range(10)] and day["elders_uncorroborated"] == 10
    assert "faces_uncorroborated" in day["flags"]
    month = by(lines, "month")[("qd-a", "2026-10")]
    assert month["elders"] == by(before, "month")[("qd-a", "2026-10")]["elders"]
    assert (month["elders_uncorroborated"], month["faces_uncorroborated_days"]) == (10, 1)
