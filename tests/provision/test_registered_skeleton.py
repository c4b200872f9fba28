"""`eldercare cloud provision station ID` for a station already in the registry: its skeleton carries what the
registry holds (name, town, kind, grade, address, hours, zone), so the agent's loader and the registry's import read
the same station back; an option saying otherwise is refused before anything is written. The skeleton's schema
reference points at the shipped schema from wherever the file is written."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from cloud.provision.skeleton import schema_reference
from cloud.store.db import make_engine
from cloud.store.models import Station
from firmware_config.load import load_station
from firmware_config.schema import SCHEMA_PATH

# The bureau's spreadsheet: a care centre open Monday to Saturday and on holidays in Urumqi's zone, an address with
# a `#` and a name with `: ` (both would change an unquoted YAML file), and a graded station.
CSV = ("station_id,name,town,grade,weekdays,hours,open_on_holidays,address,timezone,kind\n"
       "hn-xinc-01,新仓村: 照料中心,斜桥镇,,1-6,08:00-11:00 14:00-16:30,yes,新仓路 #8,Asia/Urumqi,照料中心\n"
       "qd-lvsi-02,吕四港镇居家养老服务站,吕四港镇,4A,\"1,3,5\",09:00-11:30,no,,,station\n")

COLUMNS = (Station.id, Station.name, Station.town, Station.kind, Station.grade, Station.address, Station.weekdays,
           Station.hours, Station.open_on_holidays, Station.timezone)


def eldercare(*args: str, cwd: Path, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ELDERCARE_DATABASE_URL", "ELDERCARE_DATA_DIR")}
    if database_url is not None:
        env["ELDERCARE_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "eldercare", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def provision(station: str, *options: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return eldercare("cloud", "provision", "station", station, "--out", "broker", "--data-dir", "data",
                     "--create", "--run-as", "root", *options, cwd=cwd)


def registry(data_dir: Path) -> dict[str, tuple[object, ...]]:
    engine = make_engine(f"sqlite:///{data_dir / 'eldercare.db'}")
    try:
        with engine.connect() as connection:
            return {row[0]: tuple(row) for row in connection.execute(select(*COLUMNS))}
    finally:
        engine.dispose()


@pytest.fixture
def imported(tmp_path: Path) -> dict[str, tuple[object, ...]]:
    (tmp_path / "stations.csv").write_text(CSV, encoding="utf-8")
    assert eldercare("cloud", "migrate", "--data-dir", "data", cwd=tmp_path).returncode == 0
    result = eldercare("cloud", "stations", "import", "stations.csv", "--data-dir", "data", cwd=tmp_path)
    assert result.returncode == 0 and "2 added" in result.stdout, result.stdout + result.stderr
    before = registry(tmp_path / "data")
    assert before["hn-xinc-01"][3:5] == ("care_centre", None)
    return before


@pytest.mark.parametrize("station", ["hn-xinc-01", "qd-lvsi-02"])
def test_a_registered_stations_skeleton_imports_back_unchanged(tmp_path: Path, imported: dict[str, tuple[object, ...]],
                                                               station: str) -> None:
    result = provision(station, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    skeleton = tmp_path / "firmware_config" / "stations" / f"{station}.yaml"
    config = load_station(skeleton)  # what the agent runs at start-up
    _, name, town, kind, grade, address, weekdays, hours, holidays, zone = imported[station]
    assert (config.name, config.town, config.kind, config.grade) == (name, town, kind, grade)
    assert config.schedule is not None
    assert (config.schedule.weekdays_text(), config.schedule.hours_text(), config.schedule.open_on_holidays,
            config.schedule.timezone) == (weekdays, hours, holidays, zone)
    if address:
        assert config.address == address
    check = eldercare("edge", "check-config", str(skeleton), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr

    again = eldercare("cloud", "stations", "import", str(skeleton), "--data-dir", "data", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    after = registry(tmp_path / "data")
    if address:  # nothing for the installer to fill in: importing the file back changes nothing
        assert "1 unchanged" in again.stdout, again.stdout
        assert after == imported
    else:  # only the address the registry lacked (the placeholder) changes; kind, grade and hours do not
        assert after[station][:5] == imported[station][:5] and after[station][6:] == imported[station][6:]


@pytest.mark.parametrize(("options", "says"), [
    (["--kind", "station"], "registered with kind care_centre"),
    (["--grade", "3A"], "registered with no grade"),
    (["--kind", "care_centre", "--grade", "2A"], "registered with no grade"),
    (["--name", "新仓村照料中心"], "registered with name 新仓村: 照料中心"),
    (["--town", "汇龙镇"], "registered with town 斜桥镇"),
])
def test_an_option_contradicting_the_registry_is_refused_before_anything_is_written(
        tmp_path: Path, imported: dict[str, tuple[object, ...]], options: list[str], says: str) -> None:
    result = provision("hn-xinc-01", *options, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("eldercare: error: hn-xinc-01 ") and says in result.stderr, result.stderr
    assert "cloud stations import" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "firmware_config").exists()
    assert not (tmp_path / "broker" / "credentials" / "hn-xinc-01.password").exists()
    assert registry(tmp_path / "data") == imported


def test_options_agreeing_with_the_registry_are_accepted(tmp_path: Path,
                                                         imported: dict[str, tuple[object, ...]]) -> None:
    result = provision("qd-lvsi-02", "--kind", "station", "--grade", "4A", "--town", "吕四港镇", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    config = load_station(tmp_path / "firmware_config" / "stations" / "qd-lvsi-02.yaml")
    assert (config.kind, config.grade) == ("station", "4A")


def test_a_kept_file_that_disagrees_with_the_registry_is_warned_about(tmp_path: Path,
                                                                      imported: dict[str, tuple[object, ...]]) -> None:
    # A file written before the site was registered as a care centre: importing it would make it a 2A station.
    folder = tmp_path / "firmware_config" / "stations"
    folder.mkdir(parents=True)
    old = provision("hn-xinc-09", cwd=tmp_path)  # unregistered: today's defaults, a 2A station
    assert old.returncode == 0, old.stderr
    (folder / "hn-xinc-09.yaml").rename(folder / "hn-xinc-01.yaml")
    kept = folder / "hn-xinc-01.yaml"
    kept.write_text(kept.read_text(encoding="utf-8").replace("hn-xinc-09", "hn-xinc-01"), encoding="utf-8")
    result = provision("hn-xinc-01", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "left as it is" in result.stdout
    assert "says kind station, grade 2A, but the registry has kind care_centre" in result.stderr


def test_an_unregistered_station_keeps_the_defaults_and_creates_no_database(tmp_path: Path) -> None:
    result = provision("qd-new-01", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    config = load_station(tmp_path / "firmware_config" / "stations" / "qd-new-01.yaml")
    assert (config.kind, config.grade, config.name) == ("station", "2A", "待填写（站点名称）")
    assert config.schedule is not None and config.schedule.weekdays_text() == "1,2,3,4,5"
    assert not (tmp_path / "data" / "eldercare.db").exists()


def test_the_registry_in_postgresql_is_read_too(tmp_path: Path, postgres_url: str) -> None:
    # ELDERCARE_DATABASE_URL: the registry the command reads is the same one `stations import` wrote.
    (tmp_path / "stations.csv").write_text(CSV, encoding="utf-8")
    for args in (["cloud", "migrate"], ["cloud", "stations", "import", "stations.csv"],
                 ["cloud", "provision", "station", "hn-xinc-01", "--out", "broker", "--run-as", "root", "--create"]):
        result = eldercare(*args, cwd=tmp_path, database_url=postgres_url)
        assert result.returncode == 0, result.stdout + result.stderr
    config = load_station(tmp_path / "firmware_config" / "stations" / "hn-xinc-01.yaml")
    assert (config.kind, config.grade, config.name) == ("care_centre", None, "新仓村: 照料中心")
    refused = eldercare("cloud", "provision", "station", "hn-xinc-01", "--out", "broker", "--run-as", "root",
                        "--grade", "2A", cwd=tmp_path, database_url=postgres_url)
    assert refused.returncode == 1 and "registered with no grade" in refused.stderr, refused.stderr


def schema_of(skeleton: Path) -> Path:
    first = skeleton.read_text(encoding="utf-8").splitlines()[0]
    reference = Path(first.removeprefix("# yaml-language-server: $schema="))
    return reference if reference.is_absolute() else skeleton.parent / reference


@pytest.mark.parametrize("config_dir", ["firmware_config/stations", "site/configs/stations", "."])
def test_the_schema_reference_finds_the_shipped_schema_from_any_config_dir(tmp_path: Path, config_dir: str) -> None:
    result = provision("qd-new-01", "--config-dir", str(tmp_path / config_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    schema = schema_of(tmp_path / config_dir / "qd-new-01.yaml")
    assert schema.resolve() == SCHEMA_PATH.resolve() and schema.is_file()


def test_inside_the_checkout_the_schema_reference_is_relative() -> None:
    # The checkout's own stations folder, as the examples do: a path that still works when the tree is moved.
    assert schema_reference(SCHEMA_PATH.parent / "stations") == "../station.schema.json"
    checkout = SCHEMA_PATH.parent.parent
    assert schema_reference(checkout / "sites" / "north") == "../../firmware_config/station.schema.json"
