"""Care centres (照料中心) and neighbourhood points (睦邻点) in the registry: the `kind` column of the bureau's CSV and
the `kind` key of a station file, with no grade; a station keeps its grade as before; a wrong combination is one
problem line like any bad row, and the good rows are still imported."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cloud.registry.csv_rows import parse_station_csv
from cloud.store.db import make_engine
from cloud.store.schedules import StationSchedule
from eldercare.groups import cloud
from firmware_config.load import ConfigError, parse_station
from tests.firmware_config.test_station import GOOD

HEADER = "station_id,name,town,grade,weekdays,hours,kind\n"


def test_kinds_in_the_csv_by_code_or_chinese_name_and_a_station_by_default() -> None:
    records, problems = parse_station_csv(
        HEADER
        + "hn-zx-01,新仓村照料中心,斜桥镇,,1-5,08:30-11:30 13:30-17:00,care_centre\n"
        + "hn-zx-02,庆云小区睦邻点,斜桥镇,,1-7,09:00-11:00,睦邻点\n"
        + "hn-zx-03,联合村照料中心,斜桥镇,,1-5,08:30-11:30,照料中心\n"
        + "qd-a,汇龙站,汇龙镇,3A,1-5,08:30-11:30,\n"
        + "qd-b,南阳站,南阳镇,2a,1-5,08:30-11:30,Station\n")
    assert problems == []
    assert [(r.id, r.kind, r.grade) for r in records] == [
        ("hn-zx-01", "care_centre", None), ("hn-zx-02", "neighbourhood_point", None),
        ("hn-zx-03", "care_centre", None), ("qd-a", "station", "3A"), ("qd-b", "station", "2A")]
    # A spreadsheet without the column is all stations, as before.
    old, problems = parse_station_csv("station_id,name,town,grade,weekdays,hours\nqd-a,A,T,4A,1-5,08:00-12:00\n")
    assert problems == [] and (old[0].kind, old[0].grade) == ("station", "4A")


def test_a_wrong_kind_or_grade_is_a_line_of_its_own_and_the_good_rows_import() -> None:
    records, problems = parse_station_csv(
        HEADER
        + "hn-a,A,T,2A,1-5,08:30-11:30,neighbourhood_point\n"  # 2: a grade on a neighbourhood point
        + "hn-b,B,T,5A,1-5,08:30-11:30,照料中心\n"  # 3: a grade on a care centre
        + "hn-c,C,T,,1-5,08:30-11:30,hospital\n"  # 4: unknown kind
        + "qd-d,D,T,,1-5,08:30-11:30,station\n"  # 5: a station without its grade
        + "qd-e,E,T,,1-5,08:30-11:30,\n"  # 6: the same, by default
        + "hn-f,F,T,,1-5,08:30-11:30,care_centre\n")  # 7: good
    assert [r.id for r in records] == ["hn-f"]
    reasons = {p.line: p.reason for p in problems}
    assert reasons[2] == ("grade must be empty for kind neighbourhood_point (a neighbourhood point has no grade: "
                          "got '2A')")
    assert reasons[3] == "grade must be empty for kind care_centre (a care centre has no grade: got '5A')"
    assert reasons[4] == ("kind 'hospital' must be one of station, care_centre, neighbourhood_point "
                          "(or 居家养老服务站, 照料中心, 睦邻点)")
    assert reasons[5] == reasons[6] == "grade is empty (a station (居家养老服务站) needs its grade: 2A, 3A, 4A or 5A)"
    assert sorted(reasons) == [2, 3, 4, 5, 6]


def _care_centre_yaml(extra: str = "") -> str:
    return GOOD.replace("station: qd-test-01", "station: hn-test-01").replace("grade: 3A\n", extra)


def test_a_station_file_says_its_kind_and_a_wrong_grade_is_named_by_line() -> None:
    config = parse_station(_care_centre_yaml("kind: care_centre\n"))
    assert (config.kind, config.grade) == ("care_centre", None)
    assert parse_station(GOOD).kind == "station"  # no key: a station, with its grade
    with pytest.raises(ConfigError) as caught:
        parse_station(_care_centre_yaml("kind: neighbourhood_point\ngrade: 2A\n"), "s.yaml")
    assert caught.value.problems == ["s.yaml:4: grade: grade must be empty for kind neighbourhood_point "
                                     "(a neighbourhood point has no grade: got '2A')"]
    with pytest.raises(ConfigError) as caught:
        parse_station(_care_centre_yaml(), "s.yaml")
    assert caught.value.problems == ["s.yaml:1: kind: grade is empty (a station (居家养老服务站) needs its grade: "
                                     "2A, 3A, 4A or 5A)"]
    with pytest.raises(ConfigError) as caught:
        parse_station(_care_centre_yaml("kind: clinic\n"), "s.yaml")
    assert "s.yaml:3: kind: input should be 'station', 'care_centre' or 'neighbourhood_point'" in \
        caught.value.problems[0]


def test_import_command_takes_both_files_and_keeps_the_kind_in_the_history(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELDERCARE_DATABASE_URL", raising=False)
    data_dir = tmp_path / "data"
    csv = tmp_path / "haining.csv"
    csv.write_text(HEADER + "hn-a,新仓村照料中心,斜桥镇,,1-5,08:30-11:30,care_centre\n"
                   "hn-b,庆云睦邻点,斜桥镇,3A,1-5,08:30-11:30,neighbourhood_point\n"
                   "qd-a,汇龙站,汇龙镇,3A,1-5,08:30-11:30,\n", encoding="utf-8")
    yaml_file = tmp_path / "hn-test-01.yaml"
    yaml_file.write_text(_care_centre_yaml("kind: neighbourhood_point\n"), encoding="utf-8")
    assert CliRunner().invoke(cloud, ["migrate", "--data-dir", str(data_dir)]).exit_code == 0
    result = CliRunner().invoke(cloud, ["stations", "import", str(csv), str(yaml_file), "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert f"{csv}: line 3: grade must be empty for kind neighbourhood_point" in result.stderr
    assert "stations: 3 added, 0 updated, 0 unchanged" in result.stdout
    engine = make_engine(f"sqlite:///{data_dir / 'eldercare.db'}")
    with engine.connect() as connection:
        rows = connection.execute(select(StationSchedule.station_id, StationSchedule.kind, StationSchedule.grade)
                                  .order_by(StationSchedule.station_id)).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("hn-a", "care_centre", None), ("hn-test-01", "neighbourhood_point", None),
                                        ("qd-a", "station", "3A")]
