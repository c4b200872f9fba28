"""The token key `eldercare serve` keeps: made once, private, reused; a weak or exposed one stops the start."""

import stat
from pathlib import Path

import pytest

from cloud.secret_file import ensure_secret_key


def test_made_once_private_and_reused(tmp_path: Path) -> None:
    path = ensure_secret_key(tmp_path / "data")
    key = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key.encode()) >= 32
    assert ensure_secret_key(tmp_path / "data") == path and path.read_text().strip() == key
    assert ensure_secret_key(tmp_path / "other").read_text().strip() != key  # random, not derived


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    path = ensure_secret_key(tmp_path)
    path.chmod(0o644)
    with pytest.raises(RuntimeError, match="readable by other users"):
        ensure_secret_key(tmp_path)


@pytest.mark.parametrize("weak", ["change-me", "", "secret", "too-short-0123"])
def test_a_weak_key_put_in_the_file_is_refused(tmp_path: Path, weak: str) -> None:
    path = tmp_path / "secret_key"
    path.write_text(weak + "\n")
    path.chmod(0o600)
    with pytest.raises(RuntimeError, match="secret_key is"):
        ensure_secret_key(tmp_path)
