"""`eldercare cloud provision station ID --kind`: a care centre (照料中心) or neighbourhood point (睦邻点) gets a
skeleton that names its kind and has no grade, so the registry does not hold it to a 2A's monthly figure, veto and
subsidy; each skeleton goes through the agent's loader and the registry's import as the installer would use it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from cloud.store.db import make_engine
from cloud.store.models import Station
from cloud.store.schedules import StationSchedule
from firmware_config.load import ConfigError, load_station, parse_station


def eldercare(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ELDERCARE_DATABASE_URL", "ELDERCARE_DATA_DIR")}
    return subprocess.run([sys.executable, "-m", "eldercare", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def provision(station: str, *options: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return eldercare("cloud", "provision", "station", station, "--out", "broker", "--data-dir", "data",
                     "--create", "--run-as", "root", "--town", "斜桥镇", *options, cwd=cwd)


def registry(data_dir: Path) -> dict[str, tuple[str, str | None, str | None, str | None]]:
    """(kind, grade) of each station as registered, and as its schedule history's first version has them."""
    engine = make_engine(f"sqlite:///{data_dir / 'eldercare.db'}")
    try:
        with engine.connect() as connection:
            stations = {s.id: (s.kind, s.grade) for s in connection.execute(select(Station.id, Station.kind,
                                                                                   Station.grade))}
            history = {h.station_id: (h.kind, h.grade) for h in connection.execute(
                select(StationSchedule.station_id, StationSchedule.kind, StationSchedule.grade))}
    finally:
        engine.dispose()
    return {sid: (*stations[sid], *history[sid]) for sid in stations}


KINDS = [
    pytest.param(["--kind", "care_centre"], "care_centre", None, id="care-centre"),
    pytest.param(["--kind", "neighbourhood_point"], "neighbourhood_point", None, id="neighbourhood-point"),
    pytest.param(["--kind", "station", "--grade", "4A"], "station", "4A", id="station-4A"),
    pytest.param([], "station", "2A", id="station-by-default-2A"),
]


@pytest.mark.parametrize(("options", "kind", "grade"), KINDS)
def test_each_kind_provisioned_loads_and_imports_as_that_kind(tmp_path: Path, options: list[str], kind: str,
                                                               grade: str | None) -> None:
    result = provision("hn-xinc-01", *options, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    skeleton = tmp_path / "firmware_config" / "stations" / "hn-xinc-01.yaml"
    text = skeleton.read_text(encoding="utf-8")
    assert f"\nkind: {kind} " in text
    assert ("\ngrade:" in text) == (grade is not None)

    config = load_station(skeleton)  # what the agent runs at start-up
    assert (config.station, config.kind, config.grade, config.town) == ("hn-xinc-01", kind, grade, "斜桥镇")
    check = eldercare("edge", "check-config", str(skeleton), cwd=tmp_path)
    assert check.returncode == 0 and f"ok: hn-xinc-01 {grade or kind}," in check.stdout, check.stdout + check.stderr

    assert eldercare("cloud", "migrate", "--data-dir", "data", cwd=tmp_path).returncode == 0
    imported = eldercare("cloud", "stations", "import", str(skeleton), "--data-dir", "data", cwd=tmp_path)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "stations: 1 added" in imported.stdout
    assert registry(tmp_path / "data") == {"hn-xinc-01": (kind, grade, kind, grade)}


@pytest.mark.parametrize("kind", ["care_centre", "neighbourhood_point"])
def test_a_grade_with_a_kind_that_has_none_is_refused_before_anything_is_written(tmp_path: Path, kind: str) -> None:
    # The loader refuses such a file (a grade would hold the site to a figure, a veto and a subsidy it does not
    # have), so provision refuses the options rather than write a file the agent and the import then reject.
    with pytest.raises(ConfigError, match=f"grade must be empty for kind {kind}"):
        parse_station(f"station: hn-a\nname: A\nkind: {kind}\ngrade: 3A\ntown: T\naddress: X\nmqtt: {{host: h}}\n")
    result = provision("hn-xinc-02", "--kind", kind, "--grade", "3A", cwd=tmp_path)
    assert result.returncode == 2
    name = {"care_centre": "care centre (照料中心)", "neighbourhood_point": "neighbourhood point (睦邻点)"}[kind]
    assert result.stderr.splitlines() == [
        f"eldercare: error: Invalid value for --grade: 3A with --kind {kind}: a {name} has no grade; leave --grade "
        "out (see 'eldercare cloud provision station --help')"]
    assert not (tmp_path / "firmware_config").exists()
    assert not (tmp_path / "broker").exists()  # no password made for a station set up wrongly


def test_an_unknown_kind_is_refused_with_the_choices(tmp_path: Path) -> None:
    result = provision("hn-xinc-03", "--kind", "照料中心", cwd=tmp_path)
    assert result.returncode == 2
    assert "'照料中心' is not one of 'station', 'care_centre', 'neighbourhood_point'" in result.stderr
    assert not (tmp_path / "broker").exists()


def test_json_output_keeps_its_keys_for_every_kind(tmp_path: Path) -> None:
    result = provision("hn-xinc-04", "--kind", "neighbourhood_point", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert list(answer) == ["station", "username", "password", "host", "port"]
    assert answer["password"] == (tmp_path / "broker" / "credentials" / "hn-xinc-04.password").read_text().strip()


def test_a_kept_skeleton_of_another_kind_is_named_on_stderr(tmp_path: Path) -> None:
    # A file kept from an earlier run as a 2A station would be imported as one: say so when the site is now
    # provisioned as a care centre, rather than only "left as it is".
    assert provision("hn-xinc-05", cwd=tmp_path).returncode == 0
    again = provision("hn-xinc-05", "--kind", "care_centre", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert list(json.loads(again.stdout)) == ["station", "username", "password", "host", "port"]
    skeleton = tmp_path / "firmware_config" / "stations" / "hn-xinc-05.yaml"
    assert again.stderr.splitlines() == [
        "warning: firmware_config/stations/hn-xinc-05.yaml says kind station, grade 2A, not kind care_centre; edit "
        "its kind/grade if the site changed (the registry imports what the file says)"]
    assert load_station(skeleton).kind == "station"  # kept as it was
    same = provision("hn-xinc-05", "--kind", "station", cwd=tmp_path)
    assert same.returncode == 0 and "warning" not in same.stderr and "left as it is" in same.stdout
