"""One `eldercare serve` per data directory, and ports someone else holds refused up front: a second serve on the
same folder would run two ingesters, workers and senders on one SQLite file and point `provision station` at its own
broker; a taken port used to pass for the platform's own, then fail ten seconds later as a vague crash."""

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.localservices import free_port
from tests.platform.support import env_for, running


def _eldercare(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eldercare", *args], env=env_for(data_dir), text=True,
                          capture_output=True, timeout=120)


def _error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, and nothing started before it
    return lines[0]


def test_a_second_serve_on_the_same_data_dir_or_a_taken_port_is_refused(tmp_path: Path) -> None:
    data, other = tmp_path / "data", tmp_path / "other"
    port, mqtt_port = free_port(), free_port()
    with running(["serve", "--data-dir", str(data), "--port", str(port), "--mqtt-port", str(mqtt_port)],
                 data, port) as first:
        first.wait_for_line("dashboard: http://127.0.0.1", timeout=120)
        config = (data / "mosquitto" / "mosquitto.conf").read_text() if (data / "mosquitto").exists() else None

        second = _eldercare(["serve", "--data-dir", str(data), "--port", str(free_port()),
                             "--mqtt-port", str(free_port())], data)
        assert _error(second) == (f"eldercare: error: another eldercare serve (pid {first.process.pid}) is using "
                                  f"{data.resolve()}; stop it first, or give this one another --data-dir")
        # Nothing of the first's was rewritten: a station provisioned now gets the broker that serves this folder.
        if config is not None:
            assert (data / "mosquitto" / "mosquitto.conf").read_text() == config
        provisioned = _eldercare(["cloud", "provision", "station", "qd-huilong-01", "--data-dir", str(data),
                                  "--config-dir", str(tmp_path / "stations"), "--json"], data)
        assert provisioned.returncode == 0, provisioned.stderr
        assert json.loads(provisioned.stdout)["port"] == mqtt_port

        # The first's ports, on another folder: refused before anything starts, naming the option to change.
        taken_api = _eldercare(["serve", "--data-dir", str(other), "--port", str(port),
                                "--mqtt-port", str(free_port())], other)
        assert _error(taken_api) == (f"eldercare: error: port {port} on 127.0.0.1 is in use; choose another with "
                                     "--port")
        taken_mqtt = _eldercare(["serve", "--data-dir", str(other), "--port", str(free_port()),
                                 "--mqtt-port", str(mqtt_port)], other)
        assert _error(taken_mqtt) == (f"eldercare: error: port {mqtt_port} on 127.0.0.1 is in use; choose another "
                                      "with --mqtt-port")
        assert not (other / "eldercare.db").exists() and not (other / "logs").exists()
        assert first.stop(signal.SIGTERM) == 0

    # Stopped: no broker serves the folder, so no station is told to connect to its port.
    assert not (data / "broker" / "listener.json").exists()
    # And the folder is free again for the next serve (the lock went with the process).
    port = free_port()
    with running(["serve", "--data-dir", str(data), "--port", str(port), "--mqtt-port", str(free_port()),
                  "--broker", "embedded"], data, port) as again:
        again.wait_for_line("dashboard: http://127.0.0.1", timeout=120)
        assert again.stop(signal.SIGTERM) == 0


def test_a_port_another_program_listens_on_is_refused_not_taken_as_ready(tmp_path: Path) -> None:
    # What answers on the port is not the platform's API: refused at once, not a dashboard URL that is someone else's.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = _eldercare(["serve", "--data-dir", str(tmp_path / "data"), "--port", str(port),
                             "--mqtt-port", str(free_port())], tmp_path / "data")
    assert _error(result) == f"eldercare: error: port {port} on 127.0.0.1 is in use; choose another with --port"
    assert "dashboard" not in result.stdout
