"""`eldercare edge run` refuses a bad station file or unreadable credentials at once, with clear lines."""

import subprocess
import sys
from pathlib import Path

GOOD = """\
station: qd-run-01
name: 站
grade: 2A
town: t
address: a
mqtt: {host: 127.0.0.1, port: 1, ca_file: /nonexistent/ca.pem, password_file: /nonexistent/pw}
agent: {outbox: OUTBOX}
devices:
  - {type: door, id: door-1, pin: 17}
"""


def run(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eldercare", "edge", "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=60)


def test_bad_config_and_missing_files(tmp_path: Path) -> None:
    config = tmp_path / "s.yaml"
    config.write_text(GOOD.replace("OUTBOX", str(tmp_path / "o.db")).replace("pin: 17", "pin: 17, pull: up"))
    result = run(config)
    assert result.returncode == 1
    assert result.stderr.strip() == f"eldercare: error: {config}:9: devices[0].pull: unknown key 'pull' " \
        "(did you mean 'pull_up'?)"
    config.write_text(GOOD.replace("OUTBOX", str(tmp_path / "o.db")))
    result = run(config)
    assert result.returncode == 1
    assert f"{config}: mqtt.ca_file: cannot read /nonexistent/ca.pem: No such file or directory" in result.stderr
    assert "eldercare: error: " in result.stderr and "mqtt.password_file: cannot read /nonexistent/pw" in result.stderr
    assert not (tmp_path / "o.db").exists()
