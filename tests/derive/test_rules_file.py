"""One rules configuration per deployment: `cloud derive`, `cloud worker` and the API read ELDERCARE_RULES_FILE, so a
non-default 2A threshold shows in all three; a broken file is a one-line error."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.api.security import hash_password
from cloud.derive.deployment import ConfigFileError
from cloud.settings import Settings
from cloud.store.db import make_session_factory
from cloud.store.derived import MonthResult
from cloud.store.users import User
from eldercare.cli import cli
from tests.derive.conftest import AuditFiles, feed
from tests.derive.test_worker import NOW, prepare

RULES = "grade_thresholds: {2A: 7, 3A: 100, 4A: 300, 5A: 300}\n"


def test_derive_worker_and_api_read_the_same_rules_file(store: Engine, audit_files: AuditFiles,
                                                        messages: list[tuple[str, bytes]], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    monkeypatch.setenv("ELDERCARE_RULES_FILE", str(rules))
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", store.url.render_as_string(hide_password=False))
    derived = CliRunner().invoke(cli, [
        "cloud", "derive", "--stations", str(audit_files.stations), "--events", str(audit_files.events),
        "--from", "2026-10-01", "--to", "2026-10-16"], catch_exceptions=False)
    assert derived.exit_code == 0, derived.stderr
    months = {ln["station"]: ln for ln in map(json.loads, derived.stdout.splitlines()) if ln["type"] == "month"}
    assert months["qd-a"]["threshold"] == 7  # qd-a is 2A

    prepare(store)
    feed(store, messages)
    worker = CliRunner().invoke(cli, ["cloud", "worker", "--once"], catch_exceptions=False)
    assert worker.exit_code == 0, worker.output
    with make_session_factory(store)() as session:
        stored = session.scalars(select(MonthResult).where(MonthResult.station_id == "qd-a",
                                                           MonthResult.month == "2026-10")).one()
        assert stored.threshold == 7
        session.add(User(name="admin", role="bureau", password_hash=hash_password("pw-long-enough-1")))
        session.commit()

    settings = Settings(data_dir=tmp_path, secret_key="test-secret-key-that-is-long-enough", rules_file=rules)
    with TestClient(create_app(settings, config=ApiConfig(clock=lambda: NOW), engine=store)) as client:
        token = client.post("/api/v1/auth/token", data={"username": "admin", "password": "pw-long-enough-1"})
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        grades = {g["grade"]: g for g in client.get("/api/v1/overview").json()["grades"]}
        assert grades["2A"]["threshold"] == 7
        assert client.get("/api/v1/stations/qd-a/months/2026-10").json()["threshold"] == 7


def test_a_broken_rules_file_is_one_line(tmp_path: Path, audit_files: AuditFiles) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("open_share: 2\n", encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "cloud", "derive", "--stations", str(audit_files.stations), "--events", str(audit_files.events),
        "--from", "2026-10-01", "--to", "2026-10-02", "--rules", str(rules)])
    assert result.exit_code != 0
    assert f"rules file {rules}: open_share: Input should be less than or equal to 1" in result.stderr
    settings = Settings(data_dir=tmp_path, secret_key="test-secret-key-that-is-long-enough", rules_file=rules)
    with pytest.raises(ConfigFileError, match="open_share"), TestClient(create_app(settings)):
        pass


def test_derive_takes_a_holiday_file(tmp_path: Path, audit_files: AuditFiles) -> None:
    holidays = tmp_path / "holidays.csv"
    holidays.write_text("date,kind,name\n2026-10-12,holiday,县庆\n2026-10-17,workday,县庆调休\n", encoding="utf-8")
    args = ["cloud", "derive", "--stations", str(audit_files.stations), "--events", str(audit_files.events),
            "--from", "2026-10-12", "--to", "2026-10-17"]
    plain = CliRunner().invoke(cli, args, catch_exceptions=False)
    local = CliRunner().invoke(cli, [*args, "--holidays", str(holidays)], catch_exceptions=False)
    assert plain.exit_code == 0 and local.exit_code == 0, local.stderr

    def days(out: str) -> dict[str, dict[str, object]]:
        return {ln["date"]: ln for ln in map(json.loads, out.splitlines()) if ln["type"] == "day"
                and ln["station"] == "qd-a"}

    assert days(plain.stdout)["2026-10-12"]["verdict"] == "open"
    assert days(local.stdout)["2026-10-12"]["verdict"] == "not_scheduled"
    assert days(plain.stdout)["2026-10-17"]["verdict"] == "not_scheduled"
    assert days(local.stdout)["2026-10-17"]["verdict"] != "not_scheduled"  # a working Saturday, judged
    holidays.write_text("date,kind,name\n2026-10-12,holiday,x\n2026-10-12,holiday,y\nsoon,holiday,z\n")
    bad = CliRunner().invoke(cli, [*args, "--holidays", str(holidays)])
    assert bad.exit_code != 0
    assert "line 3: duplicate date 2026-10-12 (first on line 2)" in bad.stderr
    assert "line 4: bad date 'soon' (expected YYYY-MM-DD)" in bad.stderr
