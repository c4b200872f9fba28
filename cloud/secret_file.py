"""The token signing key `eldercare serve` keeps in its data directory: made once at random, then reused.

Reused so that logins survive a restart; kept mode 0600 so only the account running the platform can read it.
"""

import os
import secrets
import stat
from pathlib import Path

from cloud.placeholders import secret_key_problem

FILE_NAME = "secret_key"


def ensure_secret_key(data_dir: Path) -> Path:
    """The key file in `data_dir`, created (32 random bytes, URL-safe text, mode 0600) if missing.

    Raises RuntimeError with one line when an existing file is readable by others or holds a weak key.
    """
    path = data_dir / FILE_NAME
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        _check_existing(path)
        return path
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return path


def _check_existing(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise RuntimeError(f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}")
    problem = secret_key_problem(path.read_text(encoding="utf-8").strip(), name=str(path))
    if problem:
        raise RuntimeError(f"{problem} (or delete the file: a new key is made, and everyone logs in again)")
