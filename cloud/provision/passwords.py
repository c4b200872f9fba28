"""Mosquitto 2 password files: `user:$7$iterations$salt$hash` (PBKDF2-SHA512), via mosquitto_passwd when installed."""

import base64
import hashlib
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

ITERATIONS = 101  # mosquitto_passwd's default
SALT_BYTES = 12


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """The `$7$` hash Mosquitto 2 reads for `password`."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def new_password() -> str:
    return secrets.token_urlsafe(24)


def _passwd_binary() -> str | None:
    return shutil.which("mosquitto_passwd") or shutil.which("mosquitto_passwd", path="/usr/bin:/usr/sbin")


def write_password_file(path: Path, users: dict[str, str], use_binary: bool = True) -> None:
    """Write `path` (mode 0600) with a hashed line per user; through mosquitto_passwd when it is installed."""
    for user in users:
        if not user or ":" in user or "\n" in user:
            raise ValueError(f"user name {user!r} cannot be in a Mosquitto password file")
    binary = _passwd_binary() if use_binary else None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".passwd-")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.chmod(0o600)
        if binary is None:
            tmp.write_text("".join(f"{user}:{mosquitto_hash(pw)}\n" for user, pw in sorted(users.items())))
        else:
            tmp.write_text("")
            for user, pw in sorted(users.items()):
                # -b takes the password as an argument: fine for a provisioning host, and the file is 0600.
                subprocess.run([binary, "-b", str(tmp), user, pw], check=True, capture_output=True)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
