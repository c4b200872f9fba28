"""A real full filesystem under the outbox (a tmpfs of 8 MiB in a private mount namespace, filled by a log file):
needs root (or user namespaces) and is skipped where a tmpfs cannot be mounted."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not can_mount(), reason="cannot mount a tmpfs in a private mount namespace here")
def test_a_really_full_card(tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    script = (f"mount -t tmpfs -o size=8m tmpfs {card} && cd {ROOT} && "
              f"{sys.executable} -m tests.edge.real_full_disk {card}")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # ENOSPC reached SQLite as SQLITE_FULL: nothing could be stored, every reading waited in memory.
    assert result["full"]["problem"].startswith("outbox disk full")
    assert result["full"]["stored"] == 0 and result["full"]["kept"] > 2000
    # Logs rotated: everything went into the outbox, in order, and the outbox reports itself fine again.
    assert result["after"] == {"problem": None, "kept": 0}
    assert result["people"] == 2000 and result["seqs_increasing"]
    assert "outbox disk full" in done.stderr  # the one ERROR line
