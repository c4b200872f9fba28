"""`eldercare cloud backup FILE`: a copy of the embedded store taken while the platform holds it open holds the
latest commits (which a plain copy of `eldercare.db` misses while they sit in the WAL), and restores as a working
store; it never overwrites a file, and a PostgreSQL store is sent to pg_dump."""

import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloud.store.backup import backup
from cloud.store.options import open_store
from cloud.users_cli import users


def add_user(data_dir: Path, name: str) -> None:
    result = CliRunner().invoke(users, ["add", name, "--role", "bureau", "--data-dir", str(data_dir)],
                                input="a-long-password\n")
    assert result.exit_code == 0, result.output


def names(data_dir: Path) -> list[str]:
    result = CliRunner().invoke(users, ["list", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    return [line.split()[0] for line in result.output.splitlines() if line.strip()]


@pytest.fixture
def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory whose store the platform holds open: its latest commits are still in the WAL."""
    monkeypatch.delenv("ELDERCARE_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    open_store(f"sqlite:///{data / 'eldercare.db'}", create=True).dispose()  # the platform's first start
    add_user(data, "wang")
    platform = sqlite3.connect(data / "eldercare.db")  # as the ingester's, worker's and API's connections do
    platform.execute("PRAGMA wal_autocheckpoint=0")
    platform.execute("SELECT count(*) FROM users").fetchone()
    add_user(data, "li")
    yield data
    platform.close()


def test_a_backup_taken_while_the_platform_runs_has_its_latest_commits(running: Path, tmp_path: Path) -> None:
    assert (running / "eldercare.db-wal").stat().st_size > 0
    copied = tmp_path / "copied"
    copied.mkdir()
    shutil.copy(running / "eldercare.db", copied / "eldercare.db")  # what `cp` gives
    assert "li" not in names(copied)

    target = tmp_path / "eldercare-2026-12-02.db"
    result = CliRunner().invoke(backup, [str(target), "--data-dir", str(running)])
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output and "secret_key" in result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # elders' ids and password hashes
    assert not (tmp_path / "eldercare-2026-12-02.db-wal").exists()
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(target, restored / "eldercare.db")
    assert sorted(names(restored)) == ["li", "wang"]


def test_a_backup_never_overwrites_a_file(running: Path, tmp_path: Path) -> None:
    target = tmp_path / "kept.db"
    target.write_text("an older backup", encoding="utf-8")
    result = CliRunner().invoke(backup, [str(target), "--data-dir", str(running)])
    assert result.exit_code == 1 and "exists" in result.output
    assert target.read_text(encoding="utf-8") == "an older backup"


def test_a_data_directory_without_a_store_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELDERCARE_DATABASE_URL", raising=False)
    result = CliRunner().invoke(backup, [str(tmp_path / "b.db"), "--data-dir", str(tmp_path / "typo")])
    assert result.exit_code == 1 and "no database at" in result.output
    assert not (tmp_path / "typo").exists() and not (tmp_path / "b.db").exists()


def test_postgresql_is_backed_up_with_pg_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", "postgresql+psycopg://eldercare:s3cret@db:5432/eldercare")
    result = CliRunner().invoke(backup, [str(tmp_path / "b.db")])
    assert result.exit_code == 1 and "pg_dump" in result.output and "s3cret" not in result.output
