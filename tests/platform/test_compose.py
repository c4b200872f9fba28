"""docker-compose.yml cannot run here (no Docker engine): check it the way `docker compose config` and a careful
reviewer would — every service's image, command, ports, volumes, dependencies and mounted files."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from cryptography import x509
from pydantic import ValidationError

from cloud.placeholders import PLACEHOLDERS
from cloud.provision.broker_files import INGESTER, WORKER
from cloud.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, Any] = COMPOSE["services"]
APP = ("migrate", "ingest-1", "ingest-2", "worker", "sender", "api", "simulator")
INGESTERS = ("ingest-1", "ingest-2")
GUARD = ["/bin/sh", "/eldercare/refuse-placeholders.sh"]
# What each guarded image runs when its entrypoint is not overridden (from the images' Dockerfiles).
IMAGE_ENTRYPOINTS = {"postgres": ["docker-entrypoint.sh", "postgres"], "influxdb": ["/entrypoint.sh", "influxd"],
                     "grafana": ["/run.sh"],
                     "proxy": ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]}
EXAMPLE = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
               if line and not line.startswith("#"))


def test_the_production_services_are_all_there() -> None:
    assert set(SERVICES) == {"mosquitto", "postgres", "influxdb", "grafana", "proxy", "prometheus", "alertmanager",
                             *APP}
    assert SERVICES["simulator"]["profiles"] == ["simulate"]


def test_the_two_ingesters_keep_their_own_client_ids_on_the_same_shared_subscription() -> None:
    # The broker queues each client id's share while it is away: an id that changed when its container was recreated
    # (a replica's random host name) would leave that share behind.
    ids = []
    for name in INGESTERS:
        command = SERVICES[name]["command"]
        assert command[:2] == ["cloud", "ingest"] and "--group" not in command and "deploy" not in SERVICES[name]
        ids.append(command[command.index("--client-id") + 1])
    assert len(set(ids)) == 2 and all(i.startswith("eldercare-ingest-") for i in ids)
    one, two = (SERVICES[name] for name in INGESTERS)
    assert {k: v for k, v in one.items() if k != "command"} == {k: v for k, v in two.items() if k != "command"}


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


def test_only_the_tls_endpoints_are_published() -> None:
    published = {name: s["ports"] for name, s in SERVICES.items() if "ports" in s}
    assert published == {"mosquitto": ["8883:8883"], "proxy": ["443:443", "3000:3000", "80:80"]}
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "listener 8883" in conf and "message_size_limit" in conf
    assert "cafile" in conf and "certfile" in conf and not re.search(r"^listener 1883", conf, re.MULTILINE)


def _caddy_sites() -> dict[str, str]:
    """Site address -> its block, from the proxy's Caddyfile (top-level blocks; the global options block skipped)."""
    text = (ROOT / "deploy/caddy/Caddyfile").read_text()
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\S+) \{\n(.*?)^\}", text, re.MULTILINE | re.DOTALL)}


def test_the_proxy_terminates_tls_for_the_api_and_grafana_and_serves_nothing_in_clear() -> None:
    sites = _caddy_sites()
    upstreams = {}
    for address, block in sites.items():
        port = address.rsplit(":", 1)[1]
        if address.startswith("http://"):
            assert block.strip() == "redir https://{host}{uri} permanent", "plain HTTP may only redirect"
            continue
        assert address.startswith("https://{$ELDERCARE_PUBLIC_HOST}:")
        assert "tls /certs/server.crt /certs/server.key" in block  # the bureau's certificate, never ACME
        upstreams[port] = re.search(r"reverse_proxy \{\$\w+:(\S+)\}", block).group(1)  # type: ignore[union-attr]
    assert upstreams == {"443": "api:8000", "3000": "grafana:3000"}
    # The upstreams are where the services listen, and every published proxy port has a site.
    assert SERVICES["api"]["command"][SERVICES["api"]["command"].index("--port") + 1] == "8000"
    assert {p.split(":")[1] for p in SERVICES["proxy"]["ports"]} == {a.rsplit(":", 1)[1] for a in sites}
    mounts = {target: source for service, source, target in _bind_mounts() if service == "proxy"}
    assert mounts["/certs/server.crt"] == "${TLS_CERT_FILE}" and mounts["/certs/server.key"] == "${TLS_KEY_FILE}"
    assert mounts["/etc/caddy/Caddyfile"] == "./deploy/caddy/Caddyfile"
    assert SERVICES["grafana"]["environment"]["GF_SERVER_ROOT_URL"].startswith("https://")
    # Behind the proxy only: the API trusts the address the proxy forwards (the login limit counts per address).
    assert "--forwarded-allow-ips" in SERVICES["api"]["command"]


def test_named_volumes_are_declared() -> None:
    named = {v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", [])
             if not v.startswith((".", "${"))}
    assert named == set(COMPOSE["volumes"])


def _bind_mounts() -> list[tuple[str, str, str]]:
    """(service, source, target); a source from .env is shown as `${VARIABLE}`."""
    mounts = []
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            from_env = re.fullmatch(r"\$\{(\w+):\?[^}]*\}:([^:]+)(:ro)?", volume)
            if from_env:
                mounts.append((name, "${" + from_env.group(1) + "}", from_env.group(2)))
            elif volume.startswith("."):
                source, target = volume.split(":")[:2]
                mounts.append((name, source, target))
    return mounts


def _documented_tls_hosts() -> list[str]:
    """The --tls-host values of the provision command in the compose file's header, a <placeholder> filled in."""
    header = COMPOSE_TEXT.split("\nname:", 1)[0]
    command = header[header.index("provision broker"):header.index("--run-as")]
    return [re.sub(r"^<.*>$", "broker.example.org", h) for h in re.findall(r"--tls-host (<[^>]+>|\S+)", command)]


def test_mounted_files_exist_or_are_written_by_provision(tmp_path: Path) -> None:
    out = tmp_path / "deploy" / "provision"
    hosts = [arg for host in _documented_tls_hosts() for arg in ("--tls-host", host)]
    result = subprocess.run(
        [sys.executable, "-m", "eldercare", "cloud", "provision", "broker", "--out", str(out),
         "--stations", str(ROOT / "firmware_config" / "examples"), *hosts, "--run-as", "root",
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    generated = [*_bind_mounts(), *(("secret", spec["file"], "") for spec in COMPOSE["secrets"].values())]
    for service, source, _ in generated:
        if source.startswith("${"):
            continue  # a path from .env: checked with .env.example
        if source.startswith("./deploy/provision"):
            assert (tmp_path / source).exists(), f"{service} mounts {source}, which provision does not write"
        else:
            assert (ROOT / source).exists(), f"{service} mounts {source}, which is not in the repository"
    # Mosquitto reads the provisioned files at the paths its config names.
    conf = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    for path in re.findall(r"/mosquitto/provision/(\S+)", conf):
        assert (out / path).exists(), f"mosquitto.conf reads {path}, which provision does not write"
    assert "deploy/provision/" in (ROOT / ".gitignore").read_text()

    # The ingester and sender check the broker's certificate against the host in their URL: it must be named in it.
    cert = x509.load_pem_x509_certificate((out / "tls" / "server.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName)
    for name in (*INGESTERS, "sender"):
        environment = SERVICES[name]["environment"]
        assert urlsplit(environment["ELDERCARE_MQTT_URL"]).hostname in names
        assert environment["ELDERCARE_MQTT_CA_FILE"] == "/provision/tls/ca.crt"


def test_ingester_and_command_sender_each_use_their_own_provisioned_account() -> None:
    accounts = {}
    for name, user in (*((name, INGESTER) for name in INGESTERS), ("sender", WORKER)):
        environment, secrets = SERVICES[name]["environment"], SERVICES[name]["secrets"]
        assert environment["ELDERCARE_MQTT_USERNAME"] == user and len(secrets) == 1
        assert environment["ELDERCARE_MQTT_PASSWORD_FILE"] == f"/run/secrets/{secrets[0]}"
        accounts[name] = COMPOSE["secrets"][secrets[0]]["file"]
    assert accounts == {**{name: f"./deploy/provision/credentials/{INGESTER}.password" for name in INGESTERS},
                        "sender": f"./deploy/provision/credentials/{WORKER}.password"}
    # No broker account where none is needed: the worker derives, the sender alone publishes commands.
    for name in ("migrate", "worker", "api"):
        assert "ELDERCARE_MQTT_USERNAME" not in SERVICES[name]["environment"] and "secrets" not in SERVICES[name]


def test_grafana_provisioning_points_at_the_mounted_dashboards() -> None:
    mounts = {target: source for service, source, target in _bind_mounts() if service == "grafana"}
    provider = yaml.safe_load((ROOT / "dashboards/grafana/provisioning/dashboards/eldercare.yaml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert path in mounts and list((ROOT / mounts[path]).glob("*.json"))
    datasource = (ROOT / "dashboards/grafana/provisioning/datasources/influxdb.yaml").read_text()
    for variable in re.findall(r"\$\{(\w+)\}", datasource):
        assert variable in SERVICES["grafana"]["environment"], f"grafana needs {variable}"


def test_secrets_come_from_dotenv_and_the_app_refuses_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE_TEXT))
    assert required <= set(EXAMPLE), f"missing from .env.example: {required - set(EXAMPLE)}"
    paths = {"TLS_CERT_FILE", "TLS_KEY_FILE"}
    assert all(EXAMPLE[name] == "change-me" for name in required - paths)
    assert all(EXAMPLE[name].startswith("./deploy/tls/") for name in paths)
    assert "deploy/tls/" in (ROOT / ".gitignore").read_text()  # the private key never committed
    # The app services, given .env.example as it is, refuse to start.
    environment = {k: str(v) for k, v in SERVICES["api"]["environment"].items()}
    for key, value in environment.items():
        value = re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: EXAMPLE[m.group(1)], value)
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ELDERCARE_SECRET_KEY", EXAMPLE["ELDERCARE_SECRET_KEY"])
    with pytest.raises(ValidationError, match="placeholder"):
        load_settings()


def _guarded() -> dict[str, list[str]]:
    """Service -> the variables its entrypoint guard checks (Alertmanager's entrypoint checks its own settings as it
    renders them: test_alertmanager_sends_what_prometheus_fires_and_is_reachable_on_the_compose_network_only)."""
    guarded = {}
    for name, service in SERVICES.items():
        entrypoint = service.get("entrypoint")
        if entrypoint and name != "alertmanager":
            assert entrypoint[:2] == GUARD, f"{name}: an entrypoint other than the guard"
            guarded[name] = entrypoint[2:entrypoint.index("--")]
    return guarded


def test_every_service_that_cannot_check_its_own_secrets_is_guarded() -> None:
    guarded = _guarded()
    assert set(guarded) == set(IMAGE_ENTRYPOINTS)
    for name, variables in guarded.items():
        service = SERVICES[name]
        # Then the image's own entrypoint and command, exactly as without the guard.
        entrypoint = service["entrypoint"]
        assert [*entrypoint[entrypoint.index("--") + 1:], *service.get("command", [])] == IMAGE_ENTRYPOINTS[name]
        assert "./deploy/checks/refuse-placeholders.sh:/eldercare/refuse-placeholders.sh:ro" in service["volumes"]
        # Every secret the service is given from .env is one the guard checks.
        from_env = {k for k, v in service["environment"].items() if re.search(r"\$\{\w+:\?", str(v))}
        # (Grafana's copy of the InfluxDB token is the one InfluxDB's own guard and the app services check.)
        assert set(variables) == from_env - {"GF_SERVER_ROOT_URL", "ELDERCARE_INFLUX_TOKEN"}, name
    assert "GRAFANA_ADMIN_PASSWORD" in SERVICES["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]


def _run_guard(variables: dict[str, str], *names: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], **variables}
    return subprocess.run(["/bin/sh", str(ROOT / "deploy/checks/refuse-placeholders.sh"), *names, "--",
                           "echo", "started"], env=env, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("service", sorted(IMAGE_ENTRYPOINTS))
def test_the_guard_refuses_the_example_values_in_one_line(service: str) -> None:
    variables = _guarded()[service]
    env: dict[str, str] = {}
    for name in variables:
        value = str(SERVICES[service]["environment"][name])
        env[name] = re.sub(r"\$\{(\w+):\?[^}]*\}", lambda m: EXAMPLE[str(m.group(1))], value)
    refused = _run_guard(env, *variables)
    assert refused.returncode == 78 and refused.stdout == ""
    assert len(refused.stderr.splitlines()) == 1 and "placeholder" in refused.stderr
    good = {name: "k9P2-vQ7x-Lm4Z-aR8t-Yw3N" if "HOST" not in name else "eldercare.bureau.gov.cn"
            for name in variables}
    started = _run_guard(good, *variables)
    assert (started.returncode, started.stdout) == (0, "started\n"), started.stderr


@pytest.mark.parametrize("value", ["", "x", "secret", "Change-Me", "my-changeme-password-123", "short-but-real"])
def test_the_guard_refuses_empty_placeholder_and_short_passwords(value: str) -> None:
    result = _run_guard({"GF_SECURITY_ADMIN_PASSWORD": value}, "GF_SECURITY_ADMIN_PASSWORD")
    assert result.returncode == 78 and "GF_SECURITY_ADMIN_PASSWORD" in result.stderr
    unset = _run_guard({}, "GF_SECURITY_ADMIN_PASSWORD")
    assert unset.returncode == 78


def test_the_guard_knows_the_same_placeholders_as_the_app() -> None:
    script = (ROOT / "deploy/checks/refuse-placeholders.sh").read_text()
    listed = re.search(r'^PLACEHOLDERS=" (.*) "$', script, re.MULTILINE)
    assert listed is not None
    assert set(listed.group(1).split()) == PLACEHOLDERS - {""}


def test_influxdb_keeps_person_ids_no_longer_than_the_cloud_does() -> None:
    # Face points in the telemetry bucket carry person ids: the bucket's retention is the person-id period.
    environment = SERVICES["influxdb"]["environment"]
    assert environment["DOCKER_INFLUXDB_INIT_RETENTION"] == "${INFLUX_RETENTION:-31d}"
    assert Settings.model_fields["retention_person_days"].default == 31


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_prometheus_scrapes_every_process_that_serves_metrics_where_it_listens() -> None:
    service = SERVICES["prometheus"]
    mounts = {target: source for name, source, target in _bind_mounts() if name == "prometheus"}
    assert mounts == {"/etc/prometheus/prometheus.yml": "./deploy/prometheus/prometheus.yml",
                      "/etc/prometheus/alerts.yml": "./deploy/prometheus/alerts.yml"}
    assert "--config.file=/etc/prometheus/prometheus.yml" in service["command"]
    assert "prometheus-data:/prometheus" in service["volumes"] and "ports" not in service
    config = yaml.safe_load((ROOT / mounts["/etc/prometheus/prometheus.yml"]).read_text())
    # Its rule file, named relative to the config, is the one mounted beside it.
    assert config["rule_files"] == ["alerts.yml"]

    targets = {job["job_name"]: (job.get("metrics_path", "/metrics"),
                                 {t: c.get("labels", {}) for c in job["static_configs"] for t in c["targets"]})
               for job in config["scrape_configs"]}
    assert set(targets) == {"ingest", "api", "alertmanager", "prometheus"}
    # Each ingester serves /metrics on the port its command names, on every address of its container.
    path, ingesters = targets["ingest"]
    assert path == "/metrics" and len(ingesters) == len(INGESTERS)
    for name in INGESTERS:
        command = SERVICES[name]["command"]
        target = f"{name}:{_option(command, '--metrics-port')}"
        assert _option(command, "--metrics-host") == "0.0.0.0"
        assert ingesters[target] == {"service": name}
    # The API serves /metrics on its own port.
    path, api = targets["api"]
    command = SERVICES["api"]["command"]
    assert path == "/metrics" and api == {f"api:{_option(command, '--port')}": {"service": "api"}}
    assert _option(command, "--host") == "0.0.0.0"
    assert targets["prometheus"][1] == {"localhost:9090": {}}
    # The worker and the command sender serve no metrics: nothing to scrape, and no port invented for them.
    for name in ("worker", "sender"):
        assert not any("metrics" in part for part in SERVICES[name]["command"]), name
        result = subprocess.run([sys.executable, "-m", "eldercare", *SERVICES[name]["command"], "--help"],
                                capture_output=True, text=True, timeout=120)
        assert "--metrics-port" not in result.stdout, f"{name} serves metrics now: scrape it"


def test_grafana_reads_the_prometheus_service() -> None:
    source = yaml.safe_load((ROOT / "dashboards/grafana/provisioning/datasources/prometheus.yaml").read_text())
    [prometheus] = source["datasources"]
    url = urlsplit(prometheus["url"])
    assert prometheus["type"] == "prometheus" and url.hostname == "prometheus" and url.port == 9090
    assert any(v == "prometheus-data:/prometheus" for v in SERVICES[url.hostname]["volumes"])
    healthcheck = " ".join(SERVICES["prometheus"]["healthcheck"]["test"])
    assert f"127.0.0.1:{url.port}/-/ready" in healthcheck


ALERTMANAGER_CONFIG = "/run/alertmanager/alertmanager.yml"


def _render_reads() -> list[str]:
    """The ALERT_ variables deploy/alertmanager/render.sh checks and reads."""
    script = (ROOT / "deploy/alertmanager/render.sh").read_text()
    listed = re.search(r"^for name in (ALERT_.*?); do$", script, re.MULTILINE | re.DOTALL)
    assert listed is not None
    return [word for word in listed.group(1).split() if word != "\\"]


def test_alertmanager_sends_what_prometheus_fires_and_is_reachable_on_the_compose_network_only(tmp_path: Path) -> None:
    service = SERVICES["alertmanager"]
    assert re.fullmatch(r"prom/alertmanager:v\d+\.\d+\.\d+", service["image"])  # a release, never latest
    assert "ports" not in service and "env_file" not in service  # none of .env's other secrets
    # render.sh writes the configuration into a tmpfs (it holds the channels' secrets), then starts Alertmanager on it.
    mounts = {target: source for name, source, target in _bind_mounts() if name == "alertmanager"}
    assert mounts == {"/etc/eldercare/alertmanager": "./deploy/alertmanager"}
    assert service["entrypoint"] == ["/bin/sh", "/etc/eldercare/alertmanager/render.sh", ALERTMANAGER_CONFIG, "--",
                                     "/bin/alertmanager"]
    assert (ROOT / "deploy/alertmanager/render.sh").exists() and list((ROOT / "deploy/alertmanager/templates").glob(
        "*.tmpl"))
    command = service["command"]
    assert f"--config.file={ALERTMANAGER_CONFIG}" in command and "--cluster.listen-address=" in command
    assert service["tmpfs"] == [str(Path(ALERTMANAGER_CONFIG).parent)]
    # Silences and the notification log (what was already sent) survive a restart.
    assert "--storage.path=/alertmanager" in command and "alertmanager-data:/alertmanager" in service["volumes"]

    # Every setting render.sh reads comes from .env (empty when absent: no channel), and .env.example names it empty.
    reads = _render_reads()
    assert {"ALERT_WEBHOOK_URL", "ALERT_DEADMAN_URL", "ALERT_DEADMAN_INTERVAL"} <= set(reads)  # the dead man's switch
    assert service["environment"] == {name: f"${{{name}:-}}" for name in reads}
    assert all(EXAMPLE[name] == "" for name in reads)
    # So .env.example as it is starts Alertmanager with no channel and no dead man's switch, saying so.
    started = subprocess.run(["/bin/sh", str(ROOT / "deploy/alertmanager/render.sh"), str(tmp_path / "am.yml"), "--",
                              "echo", "started"], env={"PATH": os.environ["PATH"], **{n: EXAMPLE[n] for n in reads}},
                             capture_output=True, text=True, timeout=30, check=False)
    assert (started.returncode, started.stdout) == (0, "started\n") and "NOTHING PAGES ANYONE" in started.stderr
    assert "NO DEAD MAN'S SWITCH IS CONFIGURED" in started.stderr
    # .env.example says what the heartbeat service's period and grace should be.
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "ALERT_DEADMAN_INTERVAL (empty: 5m" in example and "period 5 minutes, grace 10 minutes" in example

    # Prometheus sends its alerts where Alertmanager listens, which is what its health check asks.
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    [manager] = config["alerting"]["alertmanagers"]
    [target] = [t for c in manager["static_configs"] for t in c["targets"]]
    assert target == "alertmanager:9093"
    # and scrapes it, for the notifications it could not deliver (AlertNotificationsFailing).
    [job] = [job for job in config["scrape_configs"] if job["job_name"] == "alertmanager"]
    assert job["static_configs"] == [{"targets": [target], "labels": {"service": "alertmanager"}}]
    assert "http://127.0.0.1:9093/-/ready" in " ".join(service["healthcheck"]["test"])
    # Grafana shows its alert groups and silences.
    source = yaml.safe_load((ROOT / "dashboards/grafana/provisioning/datasources/alertmanager.yaml").read_text())
    [datasource] = source["datasources"]
    assert datasource["type"] == "alertmanager" and datasource["url"] == f"http://{target}"
    assert datasource["jsonData"]["implementation"] == "prometheus"
