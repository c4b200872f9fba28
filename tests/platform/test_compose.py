"""docker-compose.yml cannot run here (no Docker engine): check it the way `docker compose config` and a careful
reviewer would — every service's image, command, ports, volumes, dependencies and mounted files."""

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from cloud.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
APP = ("migrate", "ingest", "worker", "api", "simulator")


def test_the_production_services_are_all_there() -> None:
    assert set(SERVICES) == {"mosquitto", "postgres", "influxdb", "grafana", *APP}
    assert SERVICES["ingest"]["deploy"]["replicas"] == 2
    assert SERVICES["simulator"]["profiles"] == ["simulate"]


@pytest.mark.parametrize("name", list(SERVICES))
def test_each_service_has_an_image_restart_policy_and_known_dependencies(name: str) -> None:
    service = SERVICES[name]
    assert re.fullmatch(r"[a-z0-9./_-]+:[A-Za-z0-9._-]+", service["image"]), "pin every image to a tag"
    assert service["restart"] == ("no" if name == "migrate" else "unless-stopped")
    for dependency, rule in service.get("depends_on", {}).items():
        assert dependency in SERVICES
        assert rule["condition"] in ("service_healthy", "service_completed_successfully")
        if rule["condition"] == "service_healthy":
            assert "healthcheck" in SERVICES[dependency], f"{dependency} has no health check to wait for"


@pytest.mark.parametrize("name", APP)
def test_every_command_exists_in_the_cli(name: str) -> None:
    command = SERVICES[name]["command"]
    # click parses every option before acting on --help: an unknown command or option fails here.
    result = subprocess.run([sys.executable, "-m", "eldercare", *command, "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def test_app_services_share_one_image_built_from_the_dockerfile() -> None:
    assert {SERVICES[name]["image"] for name in APP} == {"eldercare-monitor:0.1.0"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE):
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    assert 'ENTRYPOINT ["eldercare"]' in dockerfile


def test_only_the_public_endpoints_are_published() -> None:
    published = {name: s["ports"] for name, s in SERVICES.items() if "ports" in s}
    assert published == {"mosquitto": ["8883:8883"], "grafana": ["3000:3000"], "api": ["8000:8000"]}
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "listener 8883" in conf and "message_size_limit" in conf


def test_named_volumes_are_declared() -> None:
    named = {v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", []) if not v.startswith(".")}
    assert named == set(COMPOSE["volumes"])


def _bind_mounts() -> list[tuple[str, str, str]]:
    mounts = []
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            if volume.startswith("."):
                source, target = volume.split(":")[:2]
                mounts.append((name, source, target))
    return mounts


def test_mounted_files_exist_or_are_written_by_provision(tmp_path: Path) -> None:
    out = tmp_path / "deploy" / "provision"
    result = subprocess.run(
        [sys.executable, "-m", "eldercare", "cloud", "provision", "broker", "--out", str(out),
         "--stations", str(ROOT / "firmware_config" / "examples"), "--tls-host", "mosquitto", "--run-as", "root",
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    generated = [*_bind_mounts(), *(("secret", spec["file"], "") for spec in COMPOSE["secrets"].values())]
    for service, source, _ in generated:
        if source.startswith("./deploy/provision"):
            assert (tmp_path / source).exists(), f"{service} mounts {source}, which provision does not write"
        else:
            assert (ROOT / source).exists(), f"{service} mounts {source}, which is not in the repository"
    # Mosquitto reads the provisioned files at the paths its config names.
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    for path in re.findall(r"/mosquitto/provision/(\S+)", conf):
        assert (out / path).exists(), f"mosquitto.conf reads {path}, which provision does not write"
    assert "deploy/provision/" in (ROOT / ".gitignore").read_text()


def test_grafana_provisioning_points_at_the_mounted_dashboards() -> None:
    mounts = {target: source for service, source, target in _bind_mounts() if service == "grafana"}
    provider = yaml.safe_load((ROOT / "dashboards/grafana/provisioning/dashboards/eldercare.yaml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert path in mounts and list((ROOT / mounts[path]).glob("*.json"))
    datasource = (ROOT / "dashboards/grafana/provisioning/datasources/influxdb.yaml").read_text()
    for variable in re.findall(r"\$\{(\w+)\}", datasource):
        assert variable in SERVICES["grafana"]["environment"], f"grafana needs {variable}"


def test_secrets_come_from_dotenv_and_placeholders_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert required <= set(example), f"missing from .env.example: {required - set(example)}"
    assert all(example[name] == "change-me" for name in required)
    # The app services, given .env.example as it is, refuse to start.
    environment = {k: str(v) for k, v in SERVICES["api"]["environment"].items()}
    for key, value in environment.items():
        value = re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: example[m.group(1)], value)
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("ELDERCARE_MQTT_PASSWORD_FILE")
    monkeypatch.setenv("ELDERCARE_SECRET_KEY", example["ELDERCARE_SECRET_KEY"])
    with pytest.raises(ValidationError, match="placeholder"):
        load_settings()
