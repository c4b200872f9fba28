"""Station credentials through the whole chain, on a broker configured by `eldercare cloud provision broker`.

The ACL itself is tested in tests/provision with bare clients; here real `eldercare edge run` agents and a real
`eldercare cloud ingest` use the provisioned credentials: an agent holding station qd-a's password but claiming to
be qd-b gets nothing into the store, while qd-a's own agent does. Then every process's log is searched for the
passwords it was given: none may appear.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import agents, ingester, registered_store, stored_keys
from tests.provision.broker import credential, provisioned_broker
from tests.wait import poll


@pytest.fixture
def provisioned(tmp_path: Path) -> Iterator[tuple[Path, int, Path]]:
    """`provision broker` for qd-a and qd-b, served by a real Mosquitto from the generated mosquitto.conf."""
    with provisioned_broker(tmp_path) as broker:
        yield broker.out, broker.plain, broker.log


@pytest.mark.timeout(120)
def test_an_agent_cannot_report_for_another_station_and_no_password_is_logged(
        provisioned: tuple[Path, int, Path], tmp_path: Path) -> None:
    out, port, broker_log = provisioned
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", ["qd-a", "qd-b"])
    a_file = out / "credentials" / "qd-a.password"
    ingest_secret = credential(out, "eldercare-ingest")
    env = {"ELDERCARE_MQTT_USERNAME": "eldercare-ingest", "ELDERCARE_MQTT_PASSWORD": ingest_secret,
           "ELDERCARE_SECRET_KEY": "s3cret-api-key-never-logged-0123456789"}
    ing_log = tmp_path / "ingest.log"
    # The impostor: configured as qd-b, logging in with qd-a's user name and password (a stolen or copied SD card).
    creds = {"qd-a": {"password_file": str(a_file)}, "qd-b": {"username": "qd-a", "password_file": str(a_file)}}
    with ingester(port, str(engine.url), "ing-sec", ing_log, env=env), \
            agents(["qd-a", "qd-b"], port, tmp_path, mqtt=creds) as procs:
        real, impostor = procs
        poll(lambda: len({k for k in stored_keys(engine) if k[0] == "qd-a"}) > 50, timeout=60,
             what="qd-a's events stored")
        # The failure guarded against is real: the impostor is connected and did generate events to send.
        poll(lambda: sum(len(r) for r in impostor.generated().values()) > 50, timeout=30, what="the impostor's events")
        poll(lambda: "Denied PUBLISH from eldercare-qd-b" in broker_log.read_text(), timeout=30,
             what="the broker refusing them")
        # The broker closes the link over each refused publish; a second refusal shows the impostor, having had the
        # first, kept its events and tried again.
        poll(lambda: broker_log.read_text().count("Denied PUBLISH from eldercare-qd-b") >= 2, timeout=30,
             what="a second refusal of the impostor")
        assert impostor.waiting() > 0  # kept in its outbox: never acknowledged as delivered
    assert not [k for k in stored_keys(engine) if k[0] == "qd-b"]
    assert "Denied PUBLISH from eldercare-qd-a" not in broker_log.read_text()

    secrets = [ingest_secret, credential(out, "qd-a"), credential(out, "qd-b"), env["ELDERCARE_SECRET_KEY"]]
    assert all(len(s) >= 16 for s in secrets)
    for log in (ing_log, real.log, impostor.log, broker_log):
        text = log.read_text(errors="replace")
        assert text, f"{log} is empty: nothing was checked"
        leaked = [s[:4] + "…" for s in secrets if s in text]
        assert leaked == [], f"{log.name} contains a secret"
