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
        (["users", "add", "a", "--role", "town"], "a town officer needs at least one --town"),
        (["users", "add", "a", "--role", "station"], "station staff need --station"),
        (["users", "add", "a", "--role", "bureau", "--station", "x"], "--station is only for --role station"),
        (["users", "add", "a", "--role", "bureau"], "at least 8 characters"),
    ]
    for args, message in cases:
        done = runner.invoke(users, [*args[1:], "--data-dir", str(tmp_path)], input="short\n")
        assert done.exit_code == 1 and isinstance(done.exception, SystemExit), (args, done.output)
        assert message in done.output, (args, done.output)
