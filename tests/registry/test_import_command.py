"""`eldercare cloud stations import` on a real store: CSV with BOM, bad rows by line, re-import, station YAML, and a
store that is empty (SQLite: created here), unmigrated (PostgreSQL: one line) or newer than this release."""

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from cloud.store.db import make_engine
from cloud.store.models import Station
from cloud.users_cli import users as cloud_users
from eldercare.groups import cloud

ROOT = Path(__file__).resolve().parents[2]
HEADER = "station_id,name,town,grade,weekdays,hours,open_on_holidays\n"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ELDERCARE_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cloud, ["migrate", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    return tmp_path / "data"


def _stations(data_dir: Path) -> dict[str, Station]:
    engine = make_engine(f"sqlite:///{data_dir / 'eldercare.db'}")
    with engine.connect() as connection:
        rows = {s.id: s for s in connection.execute(select(Station)).all()}
    engine.dispose()
    return rows  # type: ignore[return-value]


def _import(data_dir: Path, *files: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cloud, ["stations", "import", *map(str, files), "--data-dir", str(data_dir)])
    return result.exit_code, result.stdout, result.stderr


def test_excel_csv_with_bad_rows_imports_the_good_ones(data_dir: Path, tmp_path: Path) -> None:
    csv = tmp_path / "stations.csv"
    csv.write_bytes(("\ufeff" + HEADER + "qd-a,惠隆站,汇龙镇,3A,1-5,08:30-11:30 13:30-17:00,yes\r\n"
                     "qd-b,B站,汇龙镇,9A,1-5,08:30-11:30,no\r\n"
                     "qd-c,C站,南阳镇,2A,1-6,08:00-12:00,\r\n").encode("utf-8"))
    code, out, err = _import(data_dir, csv)
    assert code == 1
    assert f"{csv}: line 3: grade must be one of 2A, 3A, 4A, 5A (got '9A')" in err
    assert "1 problem(s) above; the other stations were imported" in err
    assert "stations: 2 added, 0 updated, 0 unchanged" in out
    stations = _stations(data_dir)
    assert set(stations) == {"qd-a", "qd-c"}
    assert (stations["qd-a"].hours, stations["qd-a"].weekdays, stations["qd-a"].open_on_holidays) == (
        "08:30-11:30 13:30-17:00", "1,2,3,4,5", True)


def test_reimport_updates_and_never_duplicates(data_dir: Path, tmp_path: Path) -> None:
    csv = tmp_path / "stations.csv"
    csv.write_text(HEADER + "qd-a,A,汇龙镇,3A,1-5,08:30-11:30,no\nqd-b,B,汇龙镇,2A,1-5,08:30-11:30,no\n")
    assert _import(data_dir, csv)[0] == 0
    csv.write_text(HEADER + "qd-a,A,汇龙镇,4A,1-6,08:00-12:00,no\nqd-b,B,汇龙镇,2A,1-5,08:30-11:30,no\n")
    code, out, _ = _import(data_dir, csv)
    assert code == 0 and "0 added, 1 updated, 1 unchanged" in out
    stations = _stations(data_dir)
    assert len(stations) == 2 and (stations["qd-a"].grade, stations["qd-a"].weekdays) == ("4A", "1,2,3,4,5,6")


def test_station_yaml_files_from_firmware_config(data_dir: Path, tmp_path: Path) -> None:
    code, _, err = _import(data_dir, ROOT / "firmware_config" / "examples")
    assert code == 0, err
    stations = _stations(data_dir)
    assert stations["qd-huilong-01"].town == "汇龙镇" and stations["qd-huilong-01"].weekdays == "1,2,3,4,5,6"
    no_schedule = tmp_path / "qd-x.yaml"
    text = (ROOT / "firmware_config" / "examples" / "qd-huilong-01.yaml").read_text()
    no_schedule.write_text(text.replace("station: qd-huilong-01", "station: qd-x").split("schedule:")[0]
                           + "mqtt:" + text.split("mqtt:", 1)[1])
    code, _, err = _import(data_dir, no_schedule)
    assert code == 1 and "schedule: missing" in err


def test_non_utf8_csv_is_refused_with_a_hint(data_dir: Path, tmp_path: Path) -> None:
    csv = tmp_path / "gbk.csv"
    csv.write_bytes((HEADER + "qd-a,惠隆站,汇龙镇,3A,1-5,08:30-11:30,no\n").encode("gbk"))
    code, out, err = _import(data_dir, csv)
    assert code == 1 and "not UTF-8" in err and "CSV UTF-8" in err
    # Nothing else was in the file: no "other stations" were imported.
    assert "1 problem(s) above; no station was imported" in err and "0 added, 0 updated" in out
    assert _stations(data_dir) == {}


def test_import_on_an_empty_sqlite_file_creates_the_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELDERCARE_DATABASE_URL", raising=False)
    data_dir = tmp_path / "fresh"
    data_dir.mkdir()
    (data_dir / "eldercare.db").touch()  # an empty file, as `touch` or a failed first start leaves it
    csv = tmp_path / "stations.csv"
    csv.write_text(HEADER + "qd-a,A,汇龙镇,3A,1-5,08:30-11:30,no\n")
    code, out, err = _import(data_dir, csv)
    assert code == 0, err
    assert "stations: 1 added" in out
    assert set(_stations(data_dir)) == {"qd-a"}
    assert CliRunner().invoke(cloud, ["migrate", "--data-dir", str(tmp_path / "other")]).exit_code == 0
    users = CliRunner().invoke(cloud_users, ["add", "li", "--role", "station", "--station", "qd-a",
                                             "--data-dir", str(tmp_path / "other")], input="a-long-password\n")
    assert users.exit_code == 0, users.output
    assert "li\tstation\tqd-a\tactive" in CliRunner().invoke(
        cloud_users, ["list", "--data-dir", str(tmp_path / "other")]).output


def test_a_store_from_a_newer_release_is_one_clear_line(data_dir: Path, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'eldercare.db'}")
    with engine.begin() as connection:
        newest = connection.execute(text("SELECT max(version_num) FROM alembic_version")).scalar_one()
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future' WHERE version_num = :v"),
                           {"v": newest})
    engine.dispose()
    csv = tmp_path / "stations.csv"
    csv.write_text(HEADER + "qd-a,A,汇龙镇,3A,1-5,08:30-11:30,no\n")
    code, _, err = _import(data_dir, csv)
    assert code == 1
    assert err.strip().count("\n") == 0 and "9999_future" in err and "newer eldercare" in err, err


def test_an_unmigrated_postgresql_is_one_line_naming_migrate(postgres_url: str, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", postgres_url)
    csv = tmp_path / "stations.csv"
    csv.write_text(HEADER + "qd-a,A,汇龙镇,3A,1-5,08:30-11:30,no\n")
    code, out, err = _import(tmp_path, csv)
    assert code == 1 and out == ""
    assert err.strip().count("\n") == 0, err
    assert "is not migrated" in err and "run 'eldercare cloud migrate'" in err
    assert "OperationalError" not in err and "ProgrammingError" not in err
    users = CliRunner().invoke(cloud_users, ["list"])
    assert users.exit_code == 1 and "run 'eldercare cloud migrate'" in users.output
    assert CliRunner().invoke(cloud, ["migrate"]).exit_code == 0
    code, out, err = _import(tmp_path, csv)
    assert code == 0 and "stations: 1 added" in out, err


def test_changes_made_at_the_shell_are_audited_too(data_dir: Path, tmp_path: Path) -> None:
    from cloud.store.admin import AuditEntry

    csv = tmp_path / "stations.csv"
    csv.write_text(HEADER + "qd-a,A,汇龙镇,3A,1-5,08:30-11:30,no\n")
    assert _import(data_dir, csv)[0] == 0
    csv.write_text(HEADER + "qd-a,A,汇龙镇,4A,1-5,08:30-11:30,no\n")
    assert _import(data_dir, csv)[0] == 0
    assert _import(data_dir, csv)[0] == 0  # unchanged: nothing to record
    runner = CliRunner()
    args = ["--data-dir", str(data_dir)]
    assert runner.invoke(cloud_users, ["add", "li", "--role", "station", "--station", "qd-a", *args],
                         input="a-long-password\n").exit_code == 0
    assert runner.invoke(cloud_users, ["disable", "li", *args]).exit_code == 0
    engine = make_engine(f"sqlite:///{data_dir / 'eldercare.db'}")
    with engine.connect() as connection:
        rows = connection.execute(select(AuditEntry.actor_role, AuditEntry.action, AuditEntry.target,
                                         AuditEntry.before, AuditEntry.after).order_by(AuditEntry.id)).all()
        actors = set(connection.execute(select(AuditEntry.actor)).scalars())
    engine.dispose()
    assert [tuple(r)[:3] for r in rows] == [("cli", "station.import", "qd-a"), ("cli", "station.import", "qd-a"),
                                            ("cli", "user.add", "li"), ("cli", "user.disable", "li")]
    assert (rows[1].before, rows[1].after) == ({"grade": "3A"}, {"grade": "4A"})
    assert "a-long-password" not in str(rows)
    assert len(actors) == 1 and next(iter(actors)).startswith("cli:")


def test_migrate_on_a_store_from_a_newer_release_says_so(data_dir: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'eldercare.db'}")
    with engine.begin() as connection:
        newest = connection.execute(text("SELECT max(version_num) FROM alembic_version")).scalar_one()
        connection.execute(text("UPDATE alembic_version SET version_num = '0017_future' WHERE version_num = :v"),
                           {"v": newest})
    engine.dispose()
    result = CliRunner().invoke(cloud, ["migrate", "--data-dir", str(data_dir)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "0017_future" in result.output and "(was it written by a newer eldercare?)" in result.output
