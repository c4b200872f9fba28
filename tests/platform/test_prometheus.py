"""Prometheus for the pipeline (deploy/prometheus/): the config and rules pass Debian's promtool, the rules' unit tests
pass, every alert reads series the processes expose and says what is lost and what to do, and a real Prometheus
scraping a real `eldercare cloud ingest` raises IngestSessionLost when the broker loses the ingester's session, and
IngestDown when the ingester stops."""

import json
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloud.store.models import Event
from tests.ingest.conftest import Station, count, ingest_process, prepare, publish, terminate, wait_connected
from tests.localservices import Mosquitto, free_port, run_prometheus
from tests.platform.metric_names import exposed, queried
from tests.wait import poll

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "prometheus"
UNIT_TESTS = Path(__file__).resolve().parent / "prometheus" / "alerts_test.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is missing: Debian's `prometheus` package "
                                    "(scripts/setup --test installs it)")
needs_prometheus = pytest.mark.skipif(shutil.which("prometheus") is None, reason="the prometheus binary is missing: "
                                      "Debian's `prometheus` package (scripts/setup --test installs it)")


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((DEPLOY / "alerts.yml").read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


# The dead man's switch: always firing (vector(1)), reading no series, of no severity; sent only to the outside
# heartbeat service (tests/platform/test_alertmanager.py).
WATCHDOG = "Watchdog"


def _promtool(*args: str, cwd: Path = DEPLOY) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@needs_promtool
def test_promtool_accepts_the_config_and_its_rules() -> None:
    config = _promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    assert "1 rule files found" in config.stdout  # alerts.yml, found beside the config as compose mounts it
    rules = _promtool("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in rules.stdout


@needs_promtool
def test_each_alert_fires_on_its_series_and_not_on_a_healthy_or_quiet_one(tmp_path: Path) -> None:
    # promtool compares annotations in full: the unit tests run against the rules without them.
    groups = yaml.safe_load((DEPLOY / "alerts.yml").read_text(encoding="utf-8"))
    for group in groups["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations")
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(groups, allow_unicode=True), encoding="utf-8")
    shutil.copy(UNIT_TESTS, tmp_path / "alerts_test.yml")
    result = _promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # Every alert is tested, firing at least once, and quiet at least once but for the one that always fires.
    tests = yaml.safe_load(UNIT_TESTS.read_text(encoding="utf-8"))["tests"]
    fired = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    quiet = {case["alertname"] for test in tests for case in test["alert_rule_test"] if not case["exp_alerts"]}
    assert fired == {rule["alert"] for rule in _rules()} and quiet == fired - {WATCHDOG}


def test_the_alerts_read_only_series_the_processes_expose() -> None:
    series = exposed()
    [watchdog] = [rule for rule in _rules() if rule["alert"] == WATCHDOG]
    assert watchdog["expr"] == "vector(1)" and "for" not in watchdog  # fires at the first evaluation, and always
    for rule in _rules():
        if rule["alert"] == WATCHDOG:
            continue
        names = queried(rule["expr"])
        assert names and names <= series, (rule["alert"], names - series)
    read = set().union(*(queried(rule["expr"]) for rule in _rules()))
    assert {"eldercare_ingest_session_lost_total", "eldercare_ingest_last_commit_timestamp_seconds",
            "eldercare_ingest_queue", "eldercare_ingest_store_unavailable_total", "eldercare_ingest_invalid_total",
            "eldercare_api_requests_total", "up"} <= read


def test_each_alert_says_what_is_lost_and_what_to_do_in_chinese_and_english() -> None:
    for rule in _rules():
        summary, description = rule["annotations"]["summary"], rule["annotations"]["description"]
        assert re.search(r"[\u4e00-\u9fff]", summary) and re.search(r"[A-Za-z]{4,} [a-z]+", summary), rule["alert"]
        assert len(description) > 40, rule["alert"]
        # What to do, Chinese first (the operator's message shows it as it is: deploy/alertmanager/templates/).
        assert description.startswith("处理：") and re.search(r"[A-Za-z]{4,} [a-z]+ [a-z]+", description), rule["alert"]
        # Watchdog is no problem: of no severity, it pages no one (its route catches it by name first).
        severities = ("none",) if rule["alert"] == WATCHDOG else ("critical", "warning")
        assert rule["labels"]["severity"] in severities, rule["alert"]
        # Prometheus's evaluations are 15 s apart: a `for` is whole minutes, long enough for several.
        assert re.fullmatch(r"\d+m", rule.get("for", "0m")), rule["alert"]


def test_setup_installs_prometheus_for_the_tests() -> None:
    setup = (ROOT / "scripts" / "setup").read_text()
    packages = re.search(r"^\s*packages=\((.*)\)$", setup, re.MULTILINE)
    assert packages is not None and "prometheus" in packages.group(1).split()


def _api(prometheus_url: str, path: str, **params: str) -> Any:
    url = f"{prometheus_url}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]


def _sample(prometheus_url: str, query: str) -> float | None:
    result = _api(prometheus_url, "query", query=query)["result"]
    return float(result[0]["value"][1]) if result else None


def _rule(prometheus_url: str, name: str) -> dict[str, Any]:
    groups = _api(prometheus_url, "rules", type="alert")["groups"]
    [rule] = [r for g in groups for r in g["rules"] if r["name"] == name]
    return dict(rule)


@needs_prometheus
@pytest.mark.timeout(180)
def test_a_real_prometheus_raises_session_lost_when_the_broker_loses_the_ingesters_session(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'ingest.db'}"
    engine = prepare(sqlite_url)
    metrics_port = free_port()
    # The production rules as they are (IngestSessionLost has no `for`), but for IngestDown's 2 minutes, 3 s in this
    # copy; scrapes and evaluations every second.
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    config["scrape_configs"] = [{"job_name": "ingest", "static_configs": [
        {"targets": [f"127.0.0.1:{metrics_port}"], "labels": {"service": "ingest-1"}}]}]
    del config["alerting"]  # compose's Alertmanager: tests/platform/test_alertmanager.py runs one
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text(encoding="utf-8"))
    [down] = [r for g in rules["groups"] for r in g["rules"] if r["alert"] == "IngestDown"]
    down["for"] = "3s"
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")

    ingester = ingest_process(mosquitto, sqlite_url, "prom-ingest", "--metrics-port", str(metrics_port))
    log = ""
    try:
        wait_connected(ingester)
        with run_prometheus(tmp_path / "prometheus.yml") as prometheus:
            url = prometheus.url
            poll(lambda: _sample(url, 'up{job="ingest"} == 1'), timeout=60, what="Prometheus scraping the ingester")
            # A first start has no session on the broker, and lost nothing.
            assert _sample(url, "eldercare_ingest_session_present") == 0
            assert _sample(url, "eldercare_ingest_session_lost_total") == 0
            publish(mosquitto, [Station("qd-a").flow()])
            poll(lambda: _sample(url, "eldercare_ingest_stored_total") == 1, timeout=60,
                 what="the stored event counted in Prometheus")
            assert count(engine, Event) == 1
            evaluated = _rule(url, "IngestSessionLost")["lastEvaluation"]
            poll(lambda: _rule(url, "IngestSessionLost")["lastEvaluation"] != evaluated, timeout=30,
                 what="the rules evaluated after the store counted")
            assert _rule(url, "IngestSessionLost")["state"] == "inactive"

            # The broker dies and comes back without its saved state: the ingester reconnects to no session.
            mosquitto.kill()
            (tmp_path / "mosquitto.db").unlink(missing_ok=True)
            mosquitto.start()
            poll(lambda: _sample(url, "eldercare_ingest_session_lost_total") == 1, timeout=90,
                 what="the ingester's lost session scraped")

            def firing() -> list[dict[str, Any]]:
                return [a for a in _api(url, "alerts")["alerts"]
                        if a["labels"]["alertname"] == "IngestSessionLost" and a["state"] == "firing"]

            [alert] = poll(firing, timeout=60, what="IngestSessionLost firing")
            assert alert["labels"]["severity"] == "critical" and alert["labels"]["service"] == "ingest-1"
            assert f"127.0.0.1:{metrics_port}" in alert["annotations"]["summary"]
            assert "lost" in alert["annotations"]["summary"]
            assert _sample(url, "eldercare_ingest_session_present") == 0
            assert _rule(url, "IngestDown")["state"] == "inactive"

            # The ingester stops: its target goes down, and IngestDown names the service to start again.
            log = terminate(ingester)

            def down() -> list[dict[str, Any]]:
                return [a for a in _api(url, "alerts")["alerts"]
                        if a["labels"]["alertname"] == "IngestDown" and a["state"] == "firing"]

            [alert] = poll(down, timeout=60, what="IngestDown firing")
            assert "docker compose up -d ingest-1" in alert["annotations"]["description"]
    finally:
        if ingester.poll() is None:
            log = terminate(ingester)
    # What the operator finds in the ingester's log when the alert sends them there.
    assert "session lost: the broker no longer had the session of client id prom-ingest" in log
