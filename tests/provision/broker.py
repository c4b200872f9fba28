"""A real Mosquitto serving what `eldercare cloud provision broker` wrote for stations qd-a and qd-b (or others)."""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from eldercare.groups import cloud
from tests.localservices import free_port, mosquitto_path, wait_for_port


@dataclass(frozen=True)
class ProvisionedBroker:
    out: Path  # provision's output: mosquitto.conf, passwd, acl, credentials/, the CA
    plain: int
    tls: int
    log: Path


def credential(out: Path, user: str) -> str:
    """The password provision generated for `user`."""
    return (out / "credentials" / f"{user}.password").read_text().strip()


STATIONS_CSV = "station_id,name,town,grade,weekdays,hours\nqd-a,A,T,3A,1-5,08:00-12:00\nqd-b,B,T,3A,1-5,08:00-12:00\n"


@contextmanager
def provisioned_broker(directory: Path, stations_csv: str = STATIONS_CSV) -> Iterator[ProvisionedBroker]:
    """Provision into `directory`/out for the stations of `stations_csv` (qd-a and qd-b unless told), start Mosquitto
    (verbose log in `directory`), stop it afterwards."""
    csv = directory / "stations.csv"
    csv.write_text(stations_csv, encoding="utf-8")
    broker = ProvisionedBroker(directory / "out", free_port(), free_port(), directory / "mosquitto.log")
    result = CliRunner().invoke(cloud, ["provision", "broker", "--out", str(broker.out), "--stations", str(csv),
                                        "--plain-port", str(broker.plain), "--tls-port", str(broker.tls),
                                        *(["--run-as", "root"] if os.geteuid() == 0 else [])])
    assert result.exit_code == 0, result.output
    binary = mosquitto_path()
    assert binary is not None
    with broker.log.open("wb") as log:
        process = subprocess.Popen([binary, "-v", "-c", str(broker.out / "mosquitto.conf")], stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for_port(broker.plain, process=process)
        wait_for_port(broker.tls, process=process)
        yield broker
    finally:
        process.terminate()
        process.wait(10)
