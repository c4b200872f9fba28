"""`eldercare serve` as a county bureau runs it: one command, events from a station, results in the API."""

import json
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from simulators.day_events import station_day
from simulators.fleet import station_config
from tests.localservices import free_port
from tests.platform.mqtt_probe import probe
from tests.platform.support import add_user, env_for, login, running
from tests.wait import poll


def _accepted(port: int, account: dict[str, str]) -> bool:
    with probe(port, account["username"], account["password"]) as client:
        return client.accepted


# A working day the calendar knows (a Tuesday in 2026), not "yesterday": the test must not depend on today's date.
DAY = date(2026, 10, 13)


@pytest.mark.parametrize("broker", ["mosquitto", "embedded"])
def test_serve_ingests_a_stations_day_and_shows_it_through_the_api(tmp_path: Path, broker: str) -> None:
    config = station_config(1, "3A", counter_interval_s=300)  # a 3A station with a camera, open Monday to Friday
    stations = tmp_path / "stations.csv"
    stations.write_text(
        "\ufeffstation_id,name,town,grade,weekdays,hours\n"
        f"{config.station},{config.name},{config.town},3A,1-5,08:30-11:30 13:30-17:00\n", encoding="utf-8")
    day = DAY
    truth, events = station_day(config, day, seed=3)
    port, mqtt_port = free_port(), free_port()
    args = ["serve", "--data-dir", str(tmp_path / "data"), "--port", str(port), "--mqtt-port", str(mqtt_port),
            "--stations", str(stations), "--broker", broker]
    with running(args, tmp_path / "data", port) as serve:
        serve.wait_for_line("dashboard: http://127.0.0.1", timeout=120)
        assert f"MQTT {'5' if broker == 'mosquitto' else '3.1.1'}" in "".join(serve.lines)

        # The station gets its broker account from the running platform's data directory, as an installer does.
        provisioned = subprocess.run(
            [sys.executable, "-m", "eldercare", "cloud", "provision", "station", config.station, "--data-dir",
             str(tmp_path / "data"), "--config-dir", str(tmp_path / "configs"), "--json"],
            env=env_for(tmp_path / "data"), capture_output=True, text=True, check=True)
        account = json.loads(provisioned.stdout)
        assert account["port"] == mqtt_port

        # A plain MQTT client, as a vendor's device would publish.
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=config.station, protocol=mqtt.MQTTv311)
        client.username_pw_set(account["username"], account["password"])
        poll(lambda: _accepted(mqtt_port, account), timeout=30, interval=0.5,
             what="the new account accepted by the running broker")
        client.connect("127.0.0.1", mqtt_port)
        client.loop_start()
        infos = [client.publish(e.topic, e.payload, qos=1) for e in events]
        for info in infos:
            info.wait_for_publish(timeout=30)
        client.loop_stop()
        client.disconnect()

        add_user(tmp_path / "data", "admin", "bureau")
        headers = login(serve.api, "admin")
        listed = httpx.get(f"{serve.api}/stations", headers=headers, timeout=30).json()
        assert [s["id"] for s in listed] == [config.station]

        def derived() -> dict[str, object] | None:
            body = httpx.get(f"{serve.api}/stations/{config.station}/days/{day}", headers=headers, timeout=30)
            line = body.json() if body.status_code == 200 else None
            expected = truth.to_json()["person_times"]
            return line if line and line.get("person_times") == expected else None

        line = poll(derived, timeout=120, interval=0.5, what="the day's person-times derived from the published events")
        assert line["verdict"] in ("open", "partial")
        # Only enrolled elders are elders served; faces the station never enrolled are anonymous visitors.
        enrolled = {v.person for v in truth.visits if v.role == "elder" and v.enrolled}
        assert line["elders"] == len(enrolled)
        assert len(enrolled) + int(str(line["anonymous_visitors"])) == len(truth.elders)
        assert line["working_day"] is True

        assert serve.stop(signal.SIGTERM) == 0
        assert "stopped cleanly" in "".join(serve.lines)


def test_anonymous_clients_only_on_loopback(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "eldercare", "serve", "--data-dir", str(tmp_path), "--host",
                             "0.0.0.0", "--allow-anonymous"], env=env_for(tmp_path), capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode != 0
    assert "--allow-anonymous only with a loopback --host" in result.stderr
    assert not (tmp_path / "eldercare.db").exists()  # refused before anything started


def test_the_token_key_is_kept_so_logins_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port, mqtt_port = free_port(), free_port()
    args = ["serve", "--data-dir", str(data), "--port", str(port), "--mqtt-port", str(mqtt_port),
            "--broker", "embedded"]
    with running(args, data, port) as first:
        first.wait_for_line("dashboard: http://127.0.0.1", timeout=120)
        add_user(data, "admin", "bureau")
        token = login(first.api, "admin")
        key = (data / "secret_key").read_text()
        assert first.stop() == 0
    with running(args, data, port) as second:
        second.wait_for_line("dashboard: http://127.0.0.1", timeout=120)
        assert (data / "secret_key").read_text() == key
        me = httpx.get(f"{second.api}/auth/me", headers=token, timeout=30)
        assert me.status_code == 200 and me.json()["name"] == "admin"
        assert second.stop() == 0


@pytest.mark.parametrize("broker", ["mosquitto", "embedded"])
def test_restarting_serve_is_not_a_lost_session(tmp_path: Path, broker: str) -> None:
    """A stop and start of the platform must not tell the operator the ingester lost its broker session: Mosquitto
    keeps it in its saved state, the embedded broker starts afresh with the ingester and can have dealt it nothing."""
    for _ in range(2):
        port = free_port()
        args = ["serve", "--data-dir", str(tmp_path / "data"), "--port", str(port), "--mqtt-port", str(free_port()),
                "--broker", broker]
        with running(args, tmp_path / "data", port) as serve:
            serve.wait_for_line("dashboard: http://127.0.0.1", timeout=120)
            assert serve.stop(signal.SIGTERM) == 0
    log = (tmp_path / "data" / "logs" / "ingest.log").read_text(encoding="utf-8")
    connections = [line for line in log.splitlines() if 'msg="connected"' in line]
    assert len(connections) == 2, log
    assert "session lost" not in log and 'level="error"' not in log, log
