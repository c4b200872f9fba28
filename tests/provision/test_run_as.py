"""`--run-as`: the compose broker (deploy/mosquitto/mosquitto.conf, which names no user) is started as root and drops
to its own user before it reads the provisioned password file, ACL and key, all 0600. Shown first: as written by
whoever provisioned, Debian's Mosquitto cannot open them and exits; given to its user, it runs, and it still reads
them after a station is added and it is told to reload (SIGHUP), as `docker compose kill -s HUP mosquitto` does."""

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.localservices import free_port, mosquitto_path, wait_for_port
from tests.wait import poll

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or mosquitto_path() is None,
                                reason="needs root (Mosquitto drops privileges) and Debian's mosquitto")


@pytest.fixture
def folder() -> Iterator[Path]:
    # pytest's tmp_path is 0700 root's: the broker's own user could not reach anything in it.
    path = Path(tempfile.mkdtemp(prefix="eldercare-run-as-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path)


def provision(folder: Path, *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "eldercare", "cloud", "provision", *args,
                             "--out", str(folder / "provision"), "--data-dir", str(folder / "data"),
                             "--tls-host", "localhost", "--tls-host", "mosquitto"],
                            capture_output=True, text=True, timeout=120, check=False, cwd=folder)
    assert result.returncode == 0, result.stderr


def compose_conf(folder: Path, port: int) -> Path:
    """The deployed configuration with its container paths and port moved to this test's."""
    text = (ROOT / "deploy/mosquitto/mosquitto.conf").read_text()
    text = text.replace("/mosquitto/provision", str(folder / "provision"))
    text = text.replace("/mosquitto/data/", f"{folder / 'data-broker'}/").replace("listener 8883",
                                                                                 f"listener {port} 127.0.0.1")
    (folder / "data-broker").mkdir(exist_ok=True)
    shutil.chown(folder / "data-broker", "mosquitto")
    conf = folder / "mosquitto.conf"
    conf.write_text(text)
    return conf


def connects(folder: Path, port: int, user: str) -> bool:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.tls_set(ca_certs=str(folder / "provision" / "tls" / "ca.crt"))
    client.username_pw_set(user, (folder / "provision" / "credentials" / f"{user}.password").read_text().strip())
    try:
        client.connect("localhost", port)
    except OSError:
        return False
    answered: list[bool] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: answered.append(not reason.is_failure)
    client.loop_start()
    try:
        poll(lambda: answered or None, timeout=10, interval=0.05, what="CONNACK")
    finally:
        client.loop_stop()
        client.disconnect()
    return answered[0]


def test_the_compose_broker_reads_its_files_only_when_they_are_its_users(folder: Path) -> None:
    csv = folder / "stations.csv"
    csv.write_text("station_id,name,town,grade,weekdays,hours\nqd-a,A,T,3A,1-5,08:00-12:00\n", encoding="utf-8")
    port = free_port()
    binary = mosquitto_path()
    assert binary is not None

    provision(folder, "broker", "--stations", str(csv))
    refused = subprocess.run([binary, "-c", str(compose_conf(folder, port))], capture_output=True, text=True,
                             timeout=30, check=False)
    assert refused.returncode != 0 and "Unable to open pwfile" in refused.stdout + refused.stderr

    provision(folder, "broker", "--stations", str(csv), "--run-as", "mosquitto")
    uid = pwd.getpwnam("mosquitto").pw_uid
    for name in ("passwd", "acl", "tls/server.key"):
        assert (folder / "provision" / name).stat().st_uid == uid
        assert (folder / "provision" / name).stat().st_mode & 0o777 == 0o600
    assert (folder / "provision" / "tls" / "ca.key").stat().st_uid == 0  # the CA's key is not the broker's
    with (folder / "mosquitto.log").open("wb") as log:
        broker = subprocess.Popen([binary, "-c", str(compose_conf(folder, port))], stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=broker)
        assert connects(folder, port, "qd-a")
        # A station added later, the broker told to reload: it still reads the rewritten files.
        provision(folder, "station", "qd-b", "--run-as", "mosquitto", "--config-dir", str(folder / "configs"))
        broker.send_signal(signal.SIGHUP)
        poll(lambda: connects(folder, port, "qd-b") or None, timeout=20, interval=0.5, what="qd-b accepted")
        assert broker.poll() is None and connects(folder, port, "qd-a")
    finally:
        broker.terminate()
        broker.wait(10)
