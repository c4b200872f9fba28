import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from cloud.api.security import verify_password
from cloud.store.db import make_engine, make_session_factory
from cloud.store.migrate import upgrade
from cloud.store.users import User
from cloud.users_cli import users


def _eldercare(args: list[str], data_dir: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eldercare", *args, "--data-dir", str(data_dir)],
        input=stdin, capture_output=True, text=True, timeout=60,
    )


def test_users_add_reads_the_password_from_stdin_and_hashes_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'eldercare.db'}")
    upgrade(engine)
    done = _eldercare(["users", "add", "zhang", "--role", "town", "--town", "汇龙镇", "--town", "南阳镇"], tmp_path,
                      "s3cret-password\n")
    assert done.returncode == 0, done.stderr
    assert "user zhang (town for 汇龙镇, 南阳镇) created" in done.stdout
    with make_session_factory(engine)() as session:
        user = session.scalars(select(User).where(User.name == "zhang")).one()
        assert user.role == "town" and user.town_names == ["南阳镇", "汇龙镇"]
        assert "s3cret-password" not in user.password_hash and user.password_hash.startswith("$argon2")
        assert verify_password("s3cret-password", user.password_hash)
    again = _eldercare(["users", "add", "zhang", "--role", "bureau"], tmp_path, "another-password\n")
    assert again.returncode == 1 and "eldercare: error: user 'zhang' already exists" in again.stderr
    engine.dispose()


def test_users_add_refuses_bad_combinations_in_one_line(tmp_path: Path) -> None:
    # In process (the subprocess test above covers the root's one-line error formatting).
    runner = CliRunner()
    cases = [
        (["users", "add", "a", "--role", "town"], "a town officer needs at least one town (--town)"),
        (["users", "add", "a", "--role", "station"], "station staff need a station (--station)"),
        (["users", "add", "a", "--role", "bureau", "--station", "x"],
         "a station (--station) is only for the station role (--role station)"),
        (["users", "add", "a", "--role", "bureau"], "at least 8 characters"),
    ]
    for args, message in cases:
        done = runner.invoke(users, [*args[1:], "--data-dir", str(tmp_path)], input="short\n")
        assert done.exit_code == 1 and isinstance(done.exception, SystemExit), (args, done.output)
        assert message in done.output, (args, done.output)


def test_users_list_and_disable_stop_a_token_at_once(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tests.api.conftest import make_app, seed, token_for

    engine = make_engine(f"sqlite:///{tmp_path / 'eldercare.db'}")
    upgrade(engine)
    seed(engine)
    runner = CliRunner()
    listed = runner.invoke(users, ["list", "--data-dir", str(tmp_path)])
    assert "town-hl\ttown\t汇龙镇\tactive" in listed.output
    with TestClient(make_app(engine, tmp_path)) as client:
        headers = {"Authorization": f"Bearer {token_for(client, 'staff-hl1')}"}
        assert client.get("/api/v1/stations", headers=headers).status_code == 200
        assert runner.invoke(users, ["disable", "staff-hl1", "--data-dir", str(tmp_path)]).exit_code == 0
        assert client.get("/api/v1/stations", headers=headers).status_code == 401
        refused = client.post("/api/v1/auth/token", data={"username": "staff-hl1", "password": "correct horse battery"})
        assert refused.status_code == 401
        assert runner.invoke(users, ["disable", "staff-hl1", "--enable", "--data-dir", str(tmp_path)]).exit_code == 0
        assert token_for(client, "staff-hl1")
    assert "staff-hl1\tstation\thl-01\tactive" in runner.invoke(users, ["list", "--data-dir", str(tmp_path)]).output
    engine.dispose()


def test_users_add_refuses_an_unregistered_provider_or_caregiver_as_the_api_does(tmp_path: Path) -> None:
    # Through the real import and the real command: a provider's manager or caregiver scoped to an id nobody
    # registered is refused, and nothing is written; once registered, the same command creates them.
    data = tmp_path / "data"
    assert _eldercare(["cloud", "migrate"], data, "").returncode == 0
    (tmp_path / "providers.csv").write_text("provider_id,name,town\np-kangle,康乐居家服务社,汇龙镇\n", encoding="utf-8")
    (tmp_path / "caregivers.csv").write_text("caregiver_id,name,provider\nHL001,陈阿姨,p-kangle\n", encoding="utf-8")
    refused = [
        (["users", "add", "mgr", "--role", "provider", "--provider", "p-nobody"],
         "provider 'p-nobody' is not registered: import it first (`eldercare cloud homecare import providers FILE`)"),
        (["users", "add", "chen", "--role", "caregiver", "--caregiver", "HL999"],
         "caregiver 'HL999' is not registered: import it first (`eldercare cloud homecare import caregivers FILE`)"),
    ]
    for args, says in [(["users", "add", "mgr", "--role", "provider", "--provider", "p-kangle"],
                        "provider 'p-kangle' is not registered"), *refused]:
        result = _eldercare(args, data, "a-long-password\n")
        last = result.stderr.strip().splitlines()[-1]
        assert result.returncode == 1 and last.startswith(f"eldercare: error: {says}"), result.stderr
    for kind in ("providers", "caregivers"):
        imported = _eldercare(["cloud", "homecare", "import", kind, str(tmp_path / f"{kind}.csv")], data, "")
        assert imported.returncode == 0, imported.stderr
    for args, says in refused:
        result = _eldercare(args, data, "a-long-password\n")
        assert result.returncode == 1 and says in result.stderr, result.stderr
    for args, made in [(["users", "add", "mgr", "--role", "provider", "--provider", "p-kangle"],
                        "user mgr (provider of p-kangle) created"),
                       (["users", "add", "chen", "--role", "caregiver", "--caregiver", "HL001"],
                        "user chen (caregiver HL001) created")]:
        result = _eldercare(args, data, "a-long-password\n")
        assert result.returncode == 0 and made in result.stdout, result.stderr
    engine = make_engine(f"sqlite:///{data / 'eldercare.db'}")
    with make_session_factory(engine)() as session:
        assert sorted(session.scalars(select(User.name))) == ["chen", "mgr"]
    engine.dispose()


def test_users_add_warns_of_a_town_no_registered_station_is_in(tmp_path: Path) -> None:
    # As for an unregistered --station: created (the stations may be imported later), but a typo is said at once.
    data = tmp_path / "data"
    assert _eldercare(["cloud", "migrate"], data, "").returncode == 0
    (tmp_path / "stations.csv").write_text("station_id,name,town,grade,weekdays,hours\n"
                                           "qd-a,惠隆站,汇龙镇,3A,1-5,08:30-11:30\n", encoding="utf-8")
    assert _eldercare(["cloud", "stations", "import", str(tmp_path / "stations.csv")], data, "").returncode == 0
    done = _eldercare(["users", "add", "t1", "--role", "town", "--town", "汇龙镇", "--town", "不存在镇"], data,
                      "a-long-password\n")
    assert done.returncode == 0 and "user t1 (town for 汇龙镇, 不存在镇) created" in done.stdout, done.stderr
    assert "warning: no registered station is in town '不存在镇' yet" in done.stderr
    assert "汇龙镇'" not in done.stderr


def test_a_folder_without_a_platform_is_refused_not_made_into_one(tmp_path: Path) -> None:
    # A typo in --data-dir (or the wrong working folder) used to create an empty platform and list no users.
    typo = tmp_path / "typo"
    for args, stdin in ((["users", "list"], ""), (["users", "add", "a", "--role", "bureau"], "a-long-password\n"),
                        (["users", "disable", "a"], "")):
        result = _eldercare(args, typo, stdin)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stderr.strip() == (
            f"eldercare: error: no eldercare data in {typo} (no eldercare.db): run the command from the folder where "
            "`eldercare serve` runs, or pass --data-dir (a new platform: `eldercare cloud migrate --data-dir DIR` "
            "creates one)"), args
    assert not typo.exists()
    csv = tmp_path / "stations.csv"
    csv.write_text("station_id,name,town,grade,weekdays,hours\nqd-a,A,汇龙镇,3A,1-5,08:30-11:30\n", encoding="utf-8")
    imported = _eldercare(["cloud", "stations", "import", str(csv)], typo, "")
    assert imported.returncode == 1 and "no eldercare data in" in imported.stderr and not typo.exists()
