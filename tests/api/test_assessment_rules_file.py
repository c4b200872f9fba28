"""The assessment's subsidies and pass score are the deployment's rules (its rules file), like every other figure
of the verdicts: a county paying other amounts configures them, it does not edit code."""

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from cloud.api.app import create_app
from cloud.api.config import ApiConfig
from cloud.settings import Settings
from tests.api.conftest import NOW, token_for

V1 = "/api/v1"


def test_the_assessment_pays_the_rules_files_subsidy_from_its_pass_score(engine: Engine, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("subsidy_cny: {5A: 40000, 4A: 20000, 3A: 10000, 2A: 6000}\npass_score: 85\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path, secret_key="test-secret-key-that-is-long-enough", rules_file=rules)
    with TestClient(create_app(settings, config=ApiConfig(clock=lambda: NOW), engine=engine)) as client:
        client.headers["Authorization"] = f"Bearer {token_for(client, 'admin')}"
        rows = {r["station"]: r for r in client.get(f"{V1}/assessments/2026").json()}
        assert rows["nh-02"]["subsidy_cny"] == 40000 and rows["hl-02"]["subsidy_cny"] == 6000
        facts = {}
        for score, paid in (("84.5", "0"), ("85", "6000")):
            sheet = client.get(f"{V1}/exports/stations/hl-02/assessment/2026?format=csv&score={score}")
            assert sheet.status_code == 200
            facts = dict(line.split(",", 1) for line in sheet.content.decode("utf-8-sig").splitlines() if "," in line)
            assert facts["应拨补贴（元）"] == paid, score
        assert facts["补贴标准（元）"] == "6000"
