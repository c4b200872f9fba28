"""Mosquitto on this machine: where its binary is, and the configuration `eldercare serve` writes for it."""

import os
import pwd
import shutil
from pathlib import Path


def mosquitto_path() -> str | None:
    """The Mosquitto binary, if installed (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


def mosquitto_config(port: int, workdir: Path, extra: str = "", anonymous: bool = True) -> str:
    """A minimal Mosquitto 2 configuration listening on 127.0.0.1:port."""
    # Started as root, Mosquitto drops to user `mosquitto`, which cannot write its persistence file here: keep the
    # user that started it (a no-op for anyone else).
    user = pwd.getpwuid(os.geteuid()).pw_name
    return (
        f"user {user}\n"
        f"listener {port} 127.0.0.1\n"
        f"allow_anonymous {'true' if anonymous else 'false'}\n"
        f"persistence true\npersistence_location {workdir}/\n"
        "max_queued_messages 0\nmax_inflight_messages 0\n"
        f"{extra}"
    )
