"""`eldercare serve` end to end for an emergency call: the station presses, dispatch acknowledges in the API, and the
station receives its `cmd/call-ack` from serve's command sender, over the provisioned accounts of both brokers."""

import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from station_protocol import Call, CallAck, decode, encode, new_event_id
from station_protocol.topics import device_topic
from tests.localservices import free_port
from tests.platform.mqtt_probe import probe
from tests.platform.support import add_user, login, running
from tests.platform.test_serve_security import provision
from tests.wait import poll


def press(station: str, call: str) -> tuple[str, bytes]:
    message = Call.model_validate({"v": 1, "id": UUID(new_event_id()), "station": station, "device": "call-1",
                                   "seq": int(time.time()), "ts": datetime.now(UTC), "action": "pressed",
                                   "call": call})
    return str(device_topic(station, "call-1", "call")), encode(message)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("broker", ["mosquitto", "embedded"])
def test_an_acknowledged_call_reaches_the_station(tmp_path: Path, broker: str) -> None:
    data = tmp_path / "data"
    csv = tmp_path / "stations.csv"
    csv.write_text("station_id,name,town,grade,weekdays,hours\nqd-a,站qd-a,镇,3A,1-7,00:00-23:59\n", encoding="utf-8")
    port, mqtt_port = free_port(), free_port()
    args = ["serve", "--data-dir", str(data), "--port", str(port), "--mqtt-port", str(mqtt_port),
            "--stations", str(csv), "--broker", broker]
    with running(args, data, port) as serve:
        serve.wait_for_line("dashboard: http://127.0.0.1", timeout=120)
        add_user(data, "dispatch-1", "dispatch")
        station = provision(data, "qd-a", tmp_path / "configs")

        def connects() -> bool:
            with probe(mqtt_port, "qd-a", str(station["password"])) as client:
                return client.accepted

        poll(connects, timeout=30, what="the provisioned station accepted")
        with probe(mqtt_port, "qd-a", str(station["password"])) as agent:
            agent.subscribe("eldercare/v1/qd-a/cmd/#")
            agent.publish(*press("qd-a", "c-7"))
            headers = login(serve.api, "dispatch-1")

            def raised() -> list[dict[str, object]]:
                answer = httpx.get(f"{serve.api}/alerts", params={"kind": "emergency_call", "station": "qd-a"},
                                   headers=headers, timeout=30)
                answer.raise_for_status()
                found: list[dict[str, object]] = answer.json()
                return found

            [alert] = poll(raised, timeout=30, what="the emergency alert")
            assert (alert["call_id"], alert["status"]) == ("c-7", "raised")
            acked = httpx.post(f"{serve.api}/alerts/{alert['id']}/acknowledge", json={"notes": "已派人"},
                               headers=headers, timeout=30)
            assert acked.status_code == 200, acked.text
            # (Serve's sender may also ask the station for its time meanwhile: a command of its own kind.)
            [(topic, payload)] = poll(lambda: [m for m in agent.messages if not m[0].endswith("/cmd/time-check")],
                                      timeout=30, what="the call-ack at the station")
        assert topic == "eldercare/v1/qd-a/cmd/call-ack"
        ack = decode(topic, payload).message
        assert isinstance(ack, CallAck) and (ack.call, ack.by) == ("c-7", "dispatch-1")
        assert serve.stop() == 0
    assert (data / "logs" / "sender.log").exists()
