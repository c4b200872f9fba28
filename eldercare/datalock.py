"""One `eldercare serve` (or `demo`) per data directory: an exclusive lock on a file in it, held while it runs.

Two platforms on one directory would share one SQLite file with two ingesters, workers and senders, and the second
would rewrite the broker's configuration and `broker/listener.json` under the first. The lock is `flock`, so the
kernel releases it when the process ends however it ends (a crash or SIGKILL leaves no stale lock behind); the file
holds the owner's pid, only to name it in the refusal.
"""

import fcntl
import os
from pathlib import Path
from typing import IO

LOCK_FILE = "serve.lock"


class DataDirInUse(RuntimeError):
    """Another process holds the data directory; the message is one line naming it and its pid."""


def lock_data_dir(data_dir: Path, command: str = "serve") -> IO[str]:
    """Take the data directory (created if new, mode 0700) for this process; keep the returned handle open for as
    long as it runs. Raises DataDirInUse when another process has it."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle = (data_dir / LOCK_FILE).open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid, _, holder = handle.read().strip().partition(" ")
        handle.close()
        raise DataDirInUse(f"another eldercare {holder or 'serve'} (pid {pid or 'unknown'}) is using {data_dir}; "
                           "stop it first, or give this one another --data-dir") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()} {command}\n")
    handle.flush()
    return handle
