"""`eldercare cloud provision station ID`: credentials, ACL entry and a config skeleton in one step."""

import subprocess
import sys
from pathlib import Path


def eldercare(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eldercare", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_one_step_gives_credentials_acl_and_a_valid_config_skeleton(tmp_path: Path) -> None:
    result = eldercare("cloud", "provision", "station", "qd-new-01", "--out", "broker", "--data-dir", "data",
                       "--tls-host", "mqtt.eldercare.example.cn", "--grade", "3A", "--town", "汇龙镇",
                       "--run-as", "root", "--create", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    password = (tmp_path / "broker" / "credentials" / "qd-new-01.password").read_text().strip()
    assert len(password) >= 16
    acl = (tmp_path / "broker" / "acl").read_text()
    assert "user qd-new-01" in acl and "eldercare/v1/qd-new-01/" in acl

    skeleton = tmp_path / "firmware_config" / "stations" / "qd-new-01.yaml"
    text = skeleton.read_text(encoding="utf-8")
    assert "station: qd-new-01" in text and "grade: 3A" in text and "host: mqtt.eldercare.example.cn" in text
    assert password not in text  # secrets never in the config file
    check = eldercare("edge", "check-config", str(skeleton), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr

    skeleton.write_text(text.replace("devices: []", "devices:\n  - {type: door, id: door-1, pin: 17}"))
    again = eldercare("cloud", "provision", "station", "qd-new-01", "--out", "broker", "--data-dir", "data",
                      "--run-as", "root", cwd=tmp_path)
    assert again.returncode == 0 and "left as it is" in again.stdout
    assert "door-1" in skeleton.read_text(encoding="utf-8")
    assert (tmp_path / "broker" / "credentials" / "qd-new-01.password").read_text().strip() == password


def test_a_bad_station_id_is_refused_in_one_line(tmp_path: Path) -> None:
    result = eldercare("cloud", "provision", "station", "QD/01", "--out", "broker", "--data-dir", "data",
                       cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("eldercare: error: station id 'QD/01' contains")
    assert not (tmp_path / "firmware_config").exists()


def test_beside_a_running_serve_the_skeleton_points_at_its_plain_broker(tmp_path: Path) -> None:
    # `eldercare serve` says where its broker listens (no TLS); a skeleton set up for TLS on 8883 would never connect.
    broker = tmp_path / "data" / "broker"
    broker.mkdir(parents=True)
    (broker / "listener.json").write_text('{"host": "bureau-pc.local", "port": 1883}\n')
    result = eldercare("cloud", "provision", "station", "qd-new-02", "--data-dir", "data", "--run-as", "root",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no TLS" in result.stdout and "CA " not in result.stdout
    skeleton = tmp_path / "firmware_config" / "stations" / "qd-new-02.yaml"
    text = skeleton.read_text(encoding="utf-8")
    assert "host: bureau-pc.local" in text and "port: 1883" in text and "tls: false" in text
    assert "ca_file" not in text
    check = eldercare("edge", "check-config", str(skeleton), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_provision_broker_on_a_folder_without_station_files_says_what_it_reads(tmp_path: Path) -> None:
    # The compose steps once said `--stations firmware_config/`: in a fresh clone its only station files are in a
    # subfolder, and the answer was "import them first or pass --stations" (which it had been given).
    (tmp_path / "configs" / "examples").mkdir(parents=True)
    (tmp_path / "configs" / "examples" / "qd-a.yaml").write_text("station: qd-a\n", encoding="utf-8")
    result = eldercare("cloud", "provision", "broker", "--out", "broker", "--data-dir", "data",
                       "--stations", "configs", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "eldercare: error: no stations in configs: give the bureau's station CSV or station YAML files (of a folder, "
        "its own .csv/.yaml/.yml files are read, not its subfolders)")
    assert not (tmp_path / "broker" / "passwd").exists()


def test_a_missing_broker_folder_is_refused_unless_created(tmp_path: Path) -> None:
    # Run from the wrong folder: not a new CA and a password the running broker never heard of.
    result = eldercare("cloud", "provision", "station", "qd-huilong-01", "--json", cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        f"eldercare: error: no broker folder {Path('data') / 'broker'}: run the command from the folder where "
        "`eldercare serve` runs, or pass --data-dir (or --out); for a new broker: `eldercare cloud provision broker`, "
        "or add --create")
    assert not (tmp_path / "data").exists() and not (tmp_path / "firmware_config").exists()
    made = eldercare("cloud", "provision", "station", "qd-huilong-01", "--json", "--create", "--run-as", "root",
                     cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "data" / "broker" / "credentials" / "qd-huilong-01.password").exists()
