"""Alertmanager for the pipeline (deploy/alertmanager/): render.sh writes a configuration Debian's amtool accepts for
each channel the operator sets (WeCom, e-mail, a webhook) and for none, keeps secrets with quotes, `&`, `/` and `$`
as typed, refuses a half-set channel or a placeholder in one line; each alert is routed where it is meant to go; a
real ingester that stops raises IngestDown in a real Prometheus, which a real Alertmanager sends, in Chinese, to
stand-ins for WeCom's API, a webhook and an SMTP server, followed by the resolution when the ingester is back; a
channel that fails is itself an alert, sent through the others; and the always-firing Watchdog reaches the dead man's
switch's heartbeat service, again and again, and no one else."""

import json
import re
import shlex
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloud.placeholders import PLACEHOLDERS
from tests.ingest.conftest import ingest_process, prepare, terminate, wait_connected
from tests.localservices import Mosquitto, free_port, run_alertmanager, run_prometheus
from tests.platform.receivers import Mail, run_http_receiver, run_smtp_sink
from tests.wait import poll

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "alertmanager"
RENDER = DEPLOY / "render.sh"
PROMETHEUS = ROOT / "deploy" / "prometheus"
AMTOOL = shutil.which("amtool")
needs_amtool = pytest.mark.skipif(AMTOOL is None, reason="amtool is missing: Debian's `prometheus-alertmanager` "
                                  "package (scripts/setup --test installs it)")
needs_alertmanager = pytest.mark.skipif(
    shutil.which("prometheus-alertmanager") is None or shutil.which("prometheus") is None,
    reason="Debian's `prometheus-alertmanager` and `prometheus` packages are missing (scripts/setup --test)")

# The shell the tests have, and the one the prom/alertmanager image has (busybox), where installed.
SHELLS = {"sh": ["/bin/sh"], **({"busybox": [shutil.which("busybox") or "", "sh"]} if shutil.which("busybox") else {})}

# Secrets as an operator might have them: every character YAML, the shell, sed or a URL could take for syntax.
SECRET = "Wc\"q\\x$HOME&a/b'c#d `e` %s ${X} ;|*? 企业"
SMTP_PASSWORD = "p@ss\"w\\rd$1&2/3'4#5 `6` -n"
CORP_ID = "ww4f1c2a9e7b3d5c60"
WECOM = {"ALERT_WECOM_CORP_ID": CORP_ID, "ALERT_WECOM_AGENT_ID": "1000002", "ALERT_WECOM_SECRET": SECRET,
         "ALERT_WECOM_TO_USER": "zhangsan|lisi"}
EMAIL = {"ALERT_EMAIL_TO": "ops@mzj.example.gov.cn", "ALERT_SMTP_SMARTHOST": "smtp.example.gov.cn:465",
         "ALERT_SMTP_FROM": "eldercare-alerts@mzj.example.gov.cn",
         "ALERT_SMTP_USERNAME": "eldercare-alerts@mzj.example.gov.cn", "ALERT_SMTP_PASSWORD": SMTP_PASSWORD}
WEBHOOK = {"ALERT_WEBHOOK_URL": "https://sms.example.gov.cn/alert?token=k9P2/vQ7x&sig=a$b"}
# The dead man's switch: a heartbeat service's ping URL (healthchecks.io's form), with characters the shell or YAML
# could take for syntax.
DEADMAN = {"ALERT_DEADMAN_URL": "https://hc-ping.com/5f0b7e8a-2c1d-4e6f-9a3b-7d8c9e0f1a2b?rid=a$b&n='c'\\#d"}
ONCALL = ("oncall-critical", "oncall-warning")
CHANNELS = {"wechat_configs": WECOM, "email_configs": EMAIL, "webhook_configs": WEBHOOK}

# Where each alert is meant to go: a lost session, an ingester or the API down, a stall, the database away pages at
# once and again every 4 hours; the rest once a day. A new rule must be added here.
INTENDED = {"IngestSessionLost": "oncall-critical", "IngestDown": "oncall-critical", "IngestStalled": "oncall-critical",
            "IngestDatabaseUnavailable": "oncall-critical", "ApiDown": "oncall-critical",
            "ApiErrors": "oncall-critical", "IngestReceivesNothing": "oncall-warning",
            "IngestSpoofedMessages": "oncall-warning", "IngestDeadLettersRising": "oncall-warning",
            "TelemetryPointsDropped": "oncall-warning", "AlertNotificationsFailing": "oncall-critical",
            # The dead man's switch, and nothing else, goes to the outside heartbeat service.
            "Watchdog": "deadman"}


def _render(out: Path, env: dict[str, str], *command: str, shell: str = "sh") -> subprocess.CompletedProcess[str]:
    args = [*SHELLS[shell], str(RENDER), str(out), *(("--", *command) if command else ())]
    return subprocess.run(args, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, timeout=30,
                          check=False)


def _rendered(tmp_path: Path, env: dict[str, str], shell: str = "sh") -> tuple[Path, dict[str, Any], str]:
    out = tmp_path / "alertmanager.yml"
    result = _render(out, env, shell=shell)
    assert result.returncode == 0, result.stderr
    return out, yaml.safe_load(out.read_text(encoding="utf-8")), result.stdout + result.stderr


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert AMTOOL is not None
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=60, check=False)


def _check_config(path: Path) -> None:
    result = _amtool("check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "1 templates" in result.stdout


def _receivers(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in config["receivers"]}


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


@needs_amtool
@pytest.mark.parametrize("shell", sorted(SHELLS))
@pytest.mark.parametrize("channels", [["wechat_configs"], ["email_configs"], ["webhook_configs"],
                                      ["wechat_configs", "email_configs", "webhook_configs"]])
def test_each_channel_set_in_env_is_in_both_receivers_and_amtool_accepts_it(
        tmp_path: Path, shell: str, channels: list[str]) -> None:
    env = {k: v for channel in channels for k, v in CHANNELS[channel].items()}
    path, config, said = _rendered(tmp_path, env, shell)
    _check_config(path)
    assert "alerts are sent through" in said and "NO ALERT CHANNEL" not in said
    assert "NO DEAD MAN'S SWITCH IS CONFIGURED" in said  # every start without ALERT_DEADMAN_URL says so
    assert SECRET not in said and SMTP_PASSWORD not in said and WEBHOOK["ALERT_WEBHOOK_URL"] not in said
    receivers = _receivers(config)
    assert set(receivers) == {*ONCALL, "deadman"}
    assert set(receivers["deadman"]) == {"name"}  # no ALERT_DEADMAN_URL: Watchdog goes nowhere
    for receiver in (receivers[name] for name in ONCALL):
        assert set(receiver) - {"name"} == set(channels)
        for channel in channels:
            [settings] = receiver[channel]
            assert settings["send_resolved"] is True  # WeCom's and e-mail's default is false
    # The rendered file holds secrets: readable by Alertmanager's user alone.
    assert path.stat().st_mode & 0o077 == 0
    if "email_configs" in channels:
        [mail] = receivers["oncall-critical"]["email_configs"]
        assert mail["require_tls"] is True and mail["smarthost"] == EMAIL["ALERT_SMTP_SMARTHOST"]
        assert "eldercare.title" in mail["headers"]["Subject"] and "eldercare.text" in mail["text"]
    if "wechat_configs" in channels:
        [wecom] = receivers["oncall-critical"]["wechat_configs"]
        assert wecom["api_url"] == "https://qyapi.weixin.qq.com/cgi-bin/" and wecom["message_type"] == "text"
        assert (wecom["corp_id"], wecom["agent_id"], wecom["to_user"]) == (CORP_ID, "1000002", "zhangsan|lisi")


@needs_amtool
@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_secrets_with_quotes_ampersands_slashes_and_dollars_arrive_as_typed(tmp_path: Path, shell: str) -> None:
    path, config, _ = _rendered(tmp_path, {**WECOM, **EMAIL, **WEBHOOK, **DEADMAN}, shell)
    _check_config(path)
    receivers = _receivers(config)
    for receiver in (receivers[name] for name in ONCALL):
        assert receiver["wechat_configs"][0]["api_secret"] == SECRET
        assert receiver["email_configs"][0]["auth_password"] == SMTP_PASSWORD
        assert receiver["webhook_configs"][0]["url"] == WEBHOOK["ALERT_WEBHOOK_URL"]
    assert receivers["deadman"]["webhook_configs"][0]["url"] == DEADMAN["ALERT_DEADMAN_URL"]


@needs_amtool
def test_with_no_channel_alertmanager_still_starts_and_says_loudly_that_nothing_pages(tmp_path: Path) -> None:
    out = tmp_path / "alertmanager.yml"
    result = _render(out, {}, "echo", "alertmanager started")
    assert result.returncode == 0 and result.stdout == "alertmanager started\n"
    no_channel, no_deadman = result.stderr.splitlines()
    assert "NO ALERT CHANNEL IS CONFIGURED: NOTHING PAGES ANYONE" in no_channel and "ALERT_WECOM_" in no_channel
    assert "NO DEAD MAN'S SWITCH IS CONFIGURED: IF THIS HOST, PROMETHEUS OR ALERTMANAGER IS DOWN, NOTHING PAGES" \
        in no_deadman and "ALERT_DEADMAN_URL" in no_deadman
    _check_config(out)
    config = yaml.safe_load(out.read_text(encoding="utf-8"))
    # Receivers without a channel: the alerts are grouped and shown, and go nowhere.
    assert [set(r) for r in config["receivers"]] == [{"name"}, {"name"}, {"name"}]
    # Empty settings (compose passes every ALERT_ variable, empty when .env lacks it) are no channel either.
    empty = {name: "" for channel in [*CHANNELS.values(), DEADMAN] for name in channel} | {"ALERT_DEADMAN_INTERVAL": ""}
    assert _render(out, empty).stderr == result.stderr


@pytest.mark.parametrize(("env", "named"), [
    ({**WECOM, "ALERT_WECOM_SECRET": ""}, "ALERT_WECOM_SECRET"),
    ({"ALERT_WECOM_CORP_ID": CORP_ID}, "ALERT_WECOM_AGENT_ID"),
    ({**WECOM, "ALERT_WECOM_TO_USER": ""}, "ALERT_WECOM_TO_USER"),
    ({**WECOM, "ALERT_WECOM_SECRET": "change-me"}, "ALERT_WECOM_SECRET"),
    ({**WECOM, "ALERT_WECOM_SECRET": "Secret"}, "ALERT_WECOM_SECRET"),
    ({**WECOM, "ALERT_WECOM_SECRET": "a-real-one\nsecond-line"}, "ALERT_WECOM_SECRET"),
    ({**WECOM, "ALERT_WECOM_TO_USER": "{{ .CommonLabels.x }}"}, "ALERT_WECOM_TO_USER"),
    ({**WECOM, "ALERT_WECOM_API_URL": "https://wecom.bureau.example/cgi-bin"}, "ALERT_WECOM_API_URL"),
    ({**EMAIL, "ALERT_SMTP_PASSWORD": ""}, "ALERT_SMTP_PASSWORD"),
    ({**EMAIL, "ALERT_SMTP_USERNAME": ""}, "ALERT_SMTP_USERNAME"),
    ({**EMAIL, "ALERT_SMTP_SMARTHOST": "smtp.example.gov.cn"}, "ALERT_SMTP_SMARTHOST"),
    ({**EMAIL, "ALERT_SMTP_REQUIRE_TLS": "no"}, "ALERT_SMTP_REQUIRE_TLS"),
    ({"ALERT_SMTP_PASSWORD": SMTP_PASSWORD}, "ALERT_EMAIL_TO"),
    ({"ALERT_WEBHOOK_URL": "sms.example.gov.cn/alert"}, "ALERT_WEBHOOK_URL"),
    ({**WEBHOOK, **WECOM, "ALERT_WECOM_AGENT_ID": "CHANGE-ME"}, "ALERT_WECOM_AGENT_ID"),
    ({**EMAIL, "ALERT_SMTP_PASSWORD": "password"}, "ALERT_SMTP_PASSWORD"),
    # The dead man's switch: a URL of the heartbeat service, the operator's webhook never, an interval Alertmanager
    # reads.
    ({"ALERT_DEADMAN_URL": "hc-ping.com/5f0b7e8a-2c1d-4e6f-9a3b-7d8c9e0f1a2b"}, "ALERT_DEADMAN_URL"),
    ({"ALERT_DEADMAN_URL": "ftp://hc-ping.com/5f0b7e8a"}, "ALERT_DEADMAN_URL"),
    ({"ALERT_DEADMAN_URL": "https://"}, "ALERT_DEADMAN_URL"),
    ({"ALERT_DEADMAN_URL": "https://hc-ping.com/change-me"}, "ALERT_DEADMAN_URL"),
    ({"ALERT_DEADMAN_URL": "https://hc-ping.com/<uuid>"}, "ALERT_DEADMAN_URL"),
    ({"ALERT_DEADMAN_URL": "https://hc-ping.com/5f0b7e8a\nhttps://evil.example/"}, "ALERT_DEADMAN_URL"),
    ({**WEBHOOK, "ALERT_DEADMAN_URL": WEBHOOK["ALERT_WEBHOOK_URL"]}, "ALERT_DEADMAN_URL"),
    ({"ALERT_DEADMAN_INTERVAL": "5m"}, "ALERT_DEADMAN_URL"),
    ({**DEADMAN, "ALERT_DEADMAN_INTERVAL": "5"}, "ALERT_DEADMAN_INTERVAL"),
    ({**DEADMAN, "ALERT_DEADMAN_INTERVAL": "0m"}, "ALERT_DEADMAN_INTERVAL"),
    ({**DEADMAN, "ALERT_DEADMAN_INTERVAL": "five minutes"}, "ALERT_DEADMAN_INTERVAL"),
    ({**DEADMAN, "ALERT_DEADMAN_INTERVAL": "1.5m"}, "ALERT_DEADMAN_INTERVAL"),
])
def test_a_half_set_channel_or_a_placeholder_is_refused_in_one_line(
        tmp_path: Path, env: dict[str, str], named: str) -> None:
    out = tmp_path / "alertmanager.yml"
    result = _render(out, env, "echo", "alertmanager started")
    assert (result.returncode, result.stdout) == (78, ""), result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("alertmanager: refusing to start: ") and named in line
    assert not out.exists() and not (tmp_path / "alertmanager.yml.tmp").exists()


@needs_amtool
def test_a_mail_login_that_happens_to_read_like_a_placeholder_is_no_secret_and_is_kept(tmp_path: Path) -> None:
    path, config, _ = _rendered(tmp_path, {**EMAIL, "ALERT_SMTP_USERNAME": "admin"})
    _check_config(path)
    assert config["receivers"][0]["email_configs"][0]["auth_username"] == "admin"


def test_without_its_configuration_written_alertmanager_is_not_started(tmp_path: Path) -> None:
    result = _render(tmp_path / "missing" / "alertmanager.yml", WEBHOOK, "echo", "alertmanager started")
    assert result.returncode != 0 and result.stdout == ""


def test_render_knows_the_same_placeholders_as_the_app() -> None:
    listed = re.search(r'^PLACEHOLDERS=" (.*) "$', RENDER.read_text(), re.MULTILINE)
    assert listed is not None
    assert set(listed.group(1).split()) == PLACEHOLDERS - {""}


@needs_amtool
def test_each_alert_goes_where_intended(tmp_path: Path) -> None:
    path, config, _ = _rendered(tmp_path, {**WECOM, **EMAIL, **DEADMAN})
    rules = _rules()
    assert {rule["alert"] for rule in rules} == set(INTENDED)
    for rule in rules:
        labels = [f"alertname={rule['alert']}", *(f"{k}={v}" for k, v in rule["labels"].items()), "service=ingest-1"]
        result = _amtool("config", "routes", "test", f"--config.file={path}", *labels)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.split() == [INTENDED[rule["alert"]]], rule["alert"]
    # An alert of a severity nobody expected pages rather than waits.
    result = _amtool("config", "routes", "test", f"--config.file={path}", "alertname=New", "severity=info")
    assert result.stdout.split() == ["oncall-critical"]

    # One message per alert name; the critical path sends within a minute and repeats every 4 hours while the alert
    # stands, the warnings once a day.
    route = config["route"]
    assert route["group_by"] == ["alertname"] and route["receiver"] == "oncall-critical"
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == ("30s", "5m", "4h")
    watchdog, warning = route["routes"]
    assert warning["matchers"] == ['severity="warning"'] and warning["repeat_interval"] == "24h"
    # Watchdog at once, then every 5 minutes (ALERT_DEADMAN_INTERVAL's default): Alertmanager sends a repeat at a
    # group_interval tick once repeat_interval has passed, so repeat_interval is below the interval.
    assert watchdog["matchers"] == ['alertname="Watchdog"'] and watchdog["receiver"] == "deadman"
    assert (watchdog["group_wait"], watchdog["group_interval"], watchdog["repeat_interval"]) == ("0s", "5m", "1ms")
    assert "continue" not in watchdog  # the first match wins: Watchdog reaches no other receiver


@needs_amtool
@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_the_dead_mans_switch_is_a_receiver_of_its_own_that_only_watchdog_reaches(tmp_path: Path, shell: str) -> None:
    env = {**WECOM, **EMAIL, **WEBHOOK, **DEADMAN, "ALERT_DEADMAN_INTERVAL": "3m"}
    path, config, said = _rendered(tmp_path, env, shell)
    _check_config(path)
    assert "dead man's switch: Watchdog is sent to ALERT_DEADMAN_URL every 3m" in said and "DEAD MAN" not in said
    assert DEADMAN["ALERT_DEADMAN_URL"] not in said  # the ping URL is the check's secret
    receivers = _receivers(config)
    # Its one channel: the heartbeat service, never told of a resolution (that would be one more ping).
    assert set(receivers["deadman"]) == {"name", "webhook_configs"}
    [ping] = receivers["deadman"]["webhook_configs"]
    assert ping == {"send_resolved": False, "url": DEADMAN["ALERT_DEADMAN_URL"]}
    # and the operator's receivers never post to it.
    assert DEADMAN["ALERT_DEADMAN_URL"] not in json.dumps([receivers[name] for name in ONCALL])
    [watchdog] = [r for r in config["route"]["routes"] if r["receiver"] == "deadman"]
    assert watchdog["group_interval"] == "3m"

    # Routed: Watchdog to the heartbeat service alone, whatever labels it carries; any other alert, of any severity,
    # never there.
    def routed(*labels: str) -> list[str]:
        result = _amtool("config", "routes", "test", f"--config.file={path}", *labels)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.split()

    assert routed("alertname=Watchdog", "severity=none") == ["deadman"]
    assert routed("alertname=Watchdog", "severity=critical") == ["deadman"]
    for severity in ("critical", "warning", "none", "info"):
        assert "deadman" not in routed("alertname=IngestDown", f"severity={severity}")


def test_setup_installs_alertmanager_and_busybox_for_the_tests() -> None:
    setup = (ROOT / "scripts" / "setup").read_text()
    packages = re.search(r"^\s*packages=\((.*)\)$", setup, re.MULTILINE)
    assert packages is not None and {"prometheus-alertmanager", "busybox"} <= set(packages.group(1).split())


def _prometheus_config(tmp_path: Path, metrics_port: int, alertmanager_port: int) -> Path:
    """The production config and rules with the ingester on `metrics_port`, the alerts sent to Alertmanager on
    `alertmanager_port`, scrapes and evaluations every second, and IngestDown's 2 minutes cut to 3 s."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    config["scrape_configs"] = [{"job_name": "ingest", "static_configs": [
        {"targets": [f"127.0.0.1:{metrics_port}"], "labels": {"service": "ingest-1"}}]}]
    [manager] = config["alerting"]["alertmanagers"]
    manager["static_configs"] = [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text(encoding="utf-8"))
    [down] = [r for g in rules["groups"] for r in g["rules"] if r["alert"] == "IngestDown"]
    down["for"] = "3s"
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    return tmp_path / "prometheus.yml"


def _rendered_without_waits(tmp_path: Path, env: dict[str, str]) -> Path:
    """The configuration render.sh writes, as it is but for the waits: a second instead of 30 s and 5 minutes."""
    path, _, _ = _rendered(tmp_path, env)
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"group_wait: \w+", "group_wait: 1s", text)
    text = re.sub(r"group_interval: \w+", "group_interval: 1s", text)
    path.write_text(text, encoding="utf-8")
    return path


def _documented_amtool_commands() -> list[list[str]]:
    """The amtool commands docs/alerting.md tells the operator to run in the container, as argument lists."""
    text = (ROOT / "docs" / "alerting.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    prefix = "docker compose exec alertmanager amtool "
    commands = [block.replace("\\\n", " ") for block in blocks if block.startswith(prefix)]
    return [shlex.split(command[len(prefix):]) for command in commands]


@needs_alertmanager
@needs_amtool
@pytest.mark.timeout(120)
def test_the_documented_test_alert_reaches_the_channels_and_the_documented_silence_holds(tmp_path: Path) -> None:
    commands = _documented_amtool_commands()
    [test_alert] = [c for c in commands if c[:2] == ["alert", "add"]]
    [silence] = [c for c in commands if c[:2] == ["silence", "add"]]
    with run_http_receiver(CORP_ID, SECRET) as http:
        path = _rendered_without_waits(tmp_path, {"ALERT_WEBHOOK_URL": http.webhook_url})
        with run_alertmanager(path) as alertmanager:
            def amtool(args: list[str]) -> subprocess.CompletedProcess[str]:
                assert "--alertmanager.url=http://127.0.0.1:9093/" in args  # inside the container
                args = [a.replace("127.0.0.1:9093", f"127.0.0.1:{alertmanager.port}") for a in args]
                result = _amtool(*args)
                assert result.returncode == 0, result.stdout + result.stderr
                return result

            amtool(test_alert)
            _, body = poll(lambda: _one(http.webhook_posts, http.lock, lambda p: p[1]["status"] == "firing"),
                           timeout=60, what="the test alert at the webhook")
            assert body["receiver"] == "oncall-critical" and body["commonLabels"]["alertname"] == "TestPaging"
            assert body["alerts"][0]["annotations"]["summary"].startswith("测试告警")

            silence_id = amtool(silence).stdout.strip()
            query = amtool(["silence", "query", "--alertmanager.url=http://127.0.0.1:9093/", "-o", "json"])
            [held] = json.loads(query.stdout)
            assert held["id"] == silence_id and held["status"]["state"] == "active"
            assert {(m["name"], m["value"]) for m in held["matchers"]} == {("alertname", "IngestDown"),
                                                                          ("service", "ingest-2")}
            # The ingester retired during the planned work goes down: its alert is held back, not sent.
            amtool(["alert", "add", "IngestDown", "service=ingest-2", "severity=critical",
                    "--alertmanager.url=http://127.0.0.1:9093/"])

            def suppressed() -> list[Any]:
                alerts = json.loads(amtool(["alert", "query", "--silenced", "IngestDown", "-o", "json",
                                            "--alertmanager.url=http://127.0.0.1:9093/"]).stdout)
                return [a for a in alerts if a["status"]["state"] == "suppressed"]

            [alert] = poll(suppressed, timeout=30, what="the silenced IngestDown")
            assert alert["status"]["silencedBy"] == [silence_id]


@needs_alertmanager
@pytest.mark.timeout(120)
def test_a_channel_that_fails_is_itself_an_alert_sent_through_the_others(tmp_path: Path) -> None:
    """WeCom refuses the secret (the operator mistyped it): Alertmanager counts the failure, Prometheus scraping it
    raises AlertNotificationsFailing, and the webhook hears of it."""
    with run_http_receiver(CORP_ID, "the-secret-wecom-really-has") as http:
        env = {**WECOM, "ALERT_WECOM_API_URL": http.wecom_api_url, "ALERT_WEBHOOK_URL": http.webhook_url}
        with run_alertmanager(_rendered_without_waits(tmp_path, env)) as alertmanager:
            with urllib.request.urlopen(f"{alertmanager.url}/metrics", timeout=5) as response:
                metrics = response.read().decode()
            # The series the rule reads, there from the start for every channel (so increase() sees a first failure).
            assert 'alertmanager_notifications_failed_total{integration="wechat"} 0' in metrics
            assert 'alertmanager_notifications_total{integration="wechat"} 0' in metrics
            with run_prometheus(_prometheus_scraping_alertmanager(tmp_path, alertmanager.port)) as prometheus:
                _wait_scraped(prometheus.url, "alertmanager")
                result = _amtool("alert", "add", "IngestDown", "severity=critical", "service=ingest-1",
                                 f"--alertmanager.url={alertmanager.url}/")
                assert result.returncode == 0, result.stderr

                def failing(post: tuple[str, dict[str, Any]]) -> bool:
                    return bool(post[1]["commonLabels"].get("alertname") == "AlertNotificationsFailing")

                _, body = poll(lambda: _one(http.webhook_posts, http.lock, failing), timeout=60,
                               what="AlertNotificationsFailing at the webhook")
                assert body["status"] == "firing" and body["receiver"] == "oncall-critical"
                [alert] = body["alerts"]
                assert alert["labels"]["integration"] == "wechat"
                assert alert["annotations"]["summary"].startswith("告警通知发送失败")
                assert "ALERT_*" in alert["annotations"]["description"]
                assert not http.wecom_messages  # WeCom got nothing: its gettoken said the secret was wrong


def _prometheus_scraping_alertmanager(tmp_path: Path, alertmanager_port: int) -> Path:
    """The production config and rules as they are, but for the targets: Alertmanager on `alertmanager_port`, scraped
    (for AlertNotificationsFailing) and sent the alerts, scrapes and evaluations every second."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    config["scrape_configs"] = [{"job_name": "alertmanager", "static_configs": [
        {"targets": [f"127.0.0.1:{alertmanager_port}"], "labels": {"service": "alertmanager"}}]}]
    config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    return tmp_path / "prometheus.yml"


def _rendered_with_the_operators_waits_cut(tmp_path: Path, env: dict[str, str]) -> Path:
    """The configuration render.sh writes, but the operator's alerts sent after a second rather than 30 s; the dead
    man's switch's route as written (its interval from ALERT_DEADMAN_INTERVAL)."""
    path, config, _ = _rendered(tmp_path, env)
    config["route"].update(group_wait="1s", group_interval="1s")
    for route in config["route"]["routes"]:
        if route["receiver"] != "deadman":
            route["group_wait"] = "1s"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


# Prometheus sends a firing alert again every minute (--rules.alert.resend-delay); its first evaluation can come before
# it has found Alertmanager, and that first Watchdog is dropped: a second rather than a minute until the next.
RESEND_AT_ONCE = ("--rules.alert.resend-delay=1s",)


def _watchdogs(body: dict[str, Any]) -> bool:
    return any(a["labels"]["alertname"] == "Watchdog" for a in body["alerts"])


@needs_alertmanager
@needs_amtool
@pytest.mark.timeout(120)
def test_watchdog_reaches_the_heartbeat_service_every_interval_and_no_operator(tmp_path: Path) -> None:
    """Debian's Prometheus with the real rules, sending to Debian's Alertmanager with what render.sh wrote
    (ALERT_DEADMAN_INTERVAL=2s): the heartbeat service's stand-in is pinged with Watchdog, again 2 s later; the
    operator's WeCom and webhook hear of an ordinary alert sent afterwards, and never of Watchdog."""
    with run_http_receiver(CORP_ID, SECRET) as http:
        env = {**WECOM, "ALERT_WECOM_API_URL": http.wecom_api_url, "ALERT_WEBHOOK_URL": http.webhook_url,
               "ALERT_DEADMAN_URL": http.ping_url, "ALERT_DEADMAN_INTERVAL": "2s"}
        (tmp_path / "am").mkdir()
        with run_alertmanager(_rendered_with_the_operators_waits_cut(tmp_path / "am", env)) as alertmanager, \
                run_prometheus(_prometheus_scraping_alertmanager(tmp_path, alertmanager.port), *RESEND_AT_ONCE):
            def pinged_twice() -> list[tuple[float, dict[str, Any]]] | None:
                with http.lock:
                    return list(http.pings) if len(http.pings) >= 2 else None

            (first_at, first), (second_at, second) = poll(
                pinged_twice, timeout=60, what=lambda: f"two pings (its log: {alertmanager.log.read_text()})")[:2]
            for body in (first, second):
                assert (body["receiver"], body["status"]) == ("deadman", "firing")
                [alert] = body["alerts"]
                assert alert["labels"] == {"alertname": "Watchdog", "severity": "none"}
                assert alert["annotations"]["summary"].startswith("看门狗（死人开关）")
            # Every ALERT_DEADMAN_INTERVAL, not a burst: the heartbeat service's period is that interval.
            assert second_at - first_at >= 1.5

            # The operator's channels work, and an alert sent to them now arrives after Watchdog had long been there
            # to be sent: Watchdog never reached them.
            result = _amtool("alert", "add", "TestPaging", "severity=critical",
                             f"--alertmanager.url={alertmanager.url}/")
            assert result.returncode == 0, result.stderr
            poll(lambda: _one(http.webhook_posts, http.lock, lambda p: p[1]["commonLabels"].get("alertname")
                              == "TestPaging"), timeout=60, what="the test alert at the webhook")
            poll(lambda: _one(http.wecom_messages, http.lock, lambda m: "TestPaging" in m["text"]["content"]),
                 timeout=60, what="the test alert at WeCom")
            with http.lock:
                assert not [body for _, body in http.webhook_posts if _watchdogs(body)]
                assert not [m for m in http.wecom_messages if "Watchdog" in m["text"]["content"]]
                assert all(_watchdogs(body) and len(body["alerts"]) == 1 for _, body in http.pings)


@needs_alertmanager
@pytest.mark.timeout(120)
def test_a_dead_mans_switch_that_cannot_be_delivered_raises_alert_notifications_failing(tmp_path: Path) -> None:
    """The ping URL mistyped (the heartbeat service answers 404): Alertmanager counts the failure as a webhook's, and
    AlertNotificationsFailing reaches the operator's webhook, saying where to look."""
    with run_http_receiver(CORP_ID, SECRET) as http:
        env = {"ALERT_WEBHOOK_URL": http.webhook_url, "ALERT_DEADMAN_URL": http.unknown_ping_url,
               "ALERT_DEADMAN_INTERVAL": "2s"}
        (tmp_path / "am").mkdir()
        with run_alertmanager(_rendered_with_the_operators_waits_cut(tmp_path / "am", env)) as alertmanager, \
                run_prometheus(_prometheus_scraping_alertmanager(tmp_path, alertmanager.port), *RESEND_AT_ONCE):
            def failing(post: tuple[str, dict[str, Any]]) -> bool:
                return bool(post[1]["commonLabels"].get("alertname") == "AlertNotificationsFailing")

            _, body = poll(lambda: _one(http.webhook_posts, http.lock, failing), timeout=90,
                           what=lambda: f"AlertNotificationsFailing (its log: {alertmanager.log.read_text()})")
            assert (body["status"], body["receiver"]) == ("firing", "oncall-critical")
            [alert] = body["alerts"]
            assert alert["labels"]["integration"] == "webhook"
            assert "ALERT_DEADMAN_URL where the log says deadman/webhook" in alert["annotations"]["description"]
            # What the description tells the operator to look for in Alertmanager's log.
            assert "deadman/webhook" in alertmanager.log.read_text()
            assert not http.pings


def _one(items: list[Any], lock: Any, match: Any) -> Any:
    with lock:
        found = [item for item in items if match(item)]
    return found[0] if found else None


@needs_alertmanager
@pytest.mark.timeout(240)
def test_an_ingester_down_reaches_wecom_email_and_a_webhook_in_chinese_then_its_recovery(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'ingest.db'}"
    prepare(sqlite_url)
    metrics_port = free_port()
    with run_http_receiver(CORP_ID, SECRET) as http, run_smtp_sink() as smtp:
        webhook = f"{http.webhook_url}?token=k9P2%2FvQ7x&sig=a$b"
        env = {**WECOM, "ALERT_WECOM_API_URL": http.wecom_api_url, **EMAIL, "ALERT_SMTP_SMARTHOST": smtp.smarthost,
               # The stand-in offers no STARTTLS (and Go sends a password in clear to 127.0.0.1 only).
               "ALERT_SMTP_REQUIRE_TLS": "false", "ALERT_WEBHOOK_URL": webhook}
        (tmp_path / "am").mkdir()
        path = _rendered_without_waits(tmp_path / "am", env)

        ingester = ingest_process(mosquitto, sqlite_url, "am-ingest", "--metrics-port", str(metrics_port))
        try:
            wait_connected(ingester)
            with run_alertmanager(path) as alertmanager, \
                    run_prometheus(_prometheus_config(tmp_path, metrics_port, alertmanager.port)) as prometheus:
                _wait_scraped(prometheus.url)
                # The ingester stops: IngestDown fires, and every channel hears of it.
                terminate(ingester)

                def firing(message: dict[str, Any]) -> bool:
                    return str(message["text"]["content"]).startswith("【告警】IngestDown")

                wecom = poll(lambda: _one(http.wecom_messages, http.lock, firing), timeout=90,
                             what=lambda: f"the WeCom message (Alertmanager's log: {alertmanager.log.read_text()})")
                # The secret reached WeCom's gettoken as typed, through .env's value, render.sh and YAML.
                assert http.token_requests[0] == {"corpid": CORP_ID, "corpsecret": SECRET}
                assert (wecom["agentid"], wecom["touser"], wecom["msgtype"]) == ("1000002", "zhangsan|lisi", "text")
                content = wecom["text"]["content"]
                _says_what_is_lost_and_what_to_do(content)
                assert len(content.encode()) <= 2048  # WeCom cuts a text message there

                mail: Mail = poll(lambda: _one(smtp.mails, smtp.lock, lambda m: "【告警】" in m.message["Subject"]),
                                  timeout=60, what="the e-mail")
                assert mail.message["Subject"].startswith("【告警】IngestDown")
                # Encoded (RFC 2047), as every mail server passes it on.
                assert all(v.startswith("=?utf-8?") for k, v in mail.message.raw_items() if k == "Subject")
                assert mail.recipients == [EMAIL["ALERT_EMAIL_TO"]] and mail.sender == EMAIL["ALERT_SMTP_FROM"]
                assert mail.login == (EMAIL["ALERT_SMTP_USERNAME"], SMTP_PASSWORD)
                _says_what_is_lost_and_what_to_do(mail.text())
                html = mail.message.get_body(preferencelist=("html",))
                assert html is not None and "docker compose up -d ingest-1" in str(html.get_content())

                query, body = poll(lambda: _one(http.webhook_posts, http.lock, lambda p: p[1]["status"] == "firing"),
                                   timeout=60, what="the webhook's firing post")
                assert query == "token=k9P2%2FvQ7x&sig=a$b"
                assert body["receiver"] == "oncall-critical" and body["commonLabels"]["alertname"] == "IngestDown"
                assert body["alerts"][0]["labels"]["service"] == "ingest-1"

                # Started again under the same client id: the alert resolves, and each channel is told.
                ingester = ingest_process(mosquitto, sqlite_url, "am-ingest", "--metrics-port", str(metrics_port))
                wait_connected(ingester)
                resolved = poll(lambda: _one(http.wecom_messages, http.lock,
                                             lambda m: str(m["text"]["content"]).startswith("【已恢复】IngestDown")),
                                timeout=90, what="the WeCom resolution")
                assert "已恢复 resolved：IngestDown 服务 ingest-1" in resolved["text"]["content"]
                mail = poll(lambda: _one(smtp.mails, smtp.lock, lambda m: "【已恢复】" in m.message["Subject"]),
                            timeout=60, what="the e-mail of the resolution")
                assert mail.message["Subject"].startswith("【已恢复】IngestDown") and "北京时间" in mail.text()
                poll(lambda: _one(http.webhook_posts, http.lock, lambda p: p[1]["status"] == "resolved"),
                     timeout=60, what="the webhook's resolved post")
        finally:
            if ingester.poll() is None:
                terminate(ingester)


def _wait_scraped(prometheus_url: str, job: str = "ingest") -> None:
    def up() -> bool:
        url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": f'up{{job="{job}"}} == 1'})
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(json.load(response)["data"]["result"])

    poll(up, timeout=60, what=f"Prometheus scraping {job}")


def _says_what_is_lost_and_what_to_do(text: str) -> None:
    """What the operator reads first: the alert, Chinese before English, what is lost, the command to run."""
    assert text.startswith("【告警】IngestDown（1 项）")
    assert "IngestDown（严重 critical） 服务 ingest-1" in text
    assert "已无法采集超过 2 分钟" in text  # the rule's summary, in Chinese
    assert "处理：用同一客户端 ID 重新启动（`docker compose up -d ingest-1`" in text
    assert text.index("处理：") < text.index("Start it again")  # the English after the Chinese
    assert "北京时间" in text
