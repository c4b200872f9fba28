"""Run `eldercare serve`/`demo` as a user does: a subprocess on free ports, stopped by the test."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.wait import poll

PASSWORD = "a-long-test-password"


@dataclass
class Running:
    process: subprocess.Popen[str]
    api: str
    data_dir: Path
    lines: list[str] = field(default_factory=list)

    def wait_for_line(self, fragment: str, timeout: float) -> str:
        def found() -> str | None:
            for line in list(self.lines):
                if fragment in line:
                    return line
            if self.process.poll() is not None:
                raise AssertionError(f"exited with {self.process.returncode} before {fragment!r}:\n" +
                                     "".join(self.lines[-30:]))
            return None

        return poll(found, timeout, lambda: f"no {fragment!r}:\n" + "".join(self.lines[-30:]), interval=0.2)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout)


def env_for(data_dir: Path) -> dict[str, str]:
    # As in a user's shell: no ELDERCARE_ settings, and no PYTHONUNBUFFERED (what is printed must reach a pipe
    # while the command runs all the same).
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_") and k != "PYTHONUNBUFFERED"}
    env["ELDERCARE_DATA_DIR"] = str(data_dir)
    return env


@contextmanager
def running(args: list[str], data_dir: Path, api_port: int) -> Iterator[Running]:
    """Start `eldercare ARGS`, collect its output lines, and make sure it and everything it started are gone
    afterwards. It runs in a process group of its own, so that its children can be found and stopped with it."""
    process = subprocess.Popen([sys.executable, "-m", "eldercare", *args], env=env_for(data_dir), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    run = Running(process, f"http://127.0.0.1:{api_port}/api/v1", data_dir)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            run.lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield run
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[str], grace: float = 30) -> None:
    """Stop a command a test started and left running (it failed before stopping it) with all it started. A SIGKILL
    to `eldercare serve` alone would leave its broker, ingester, worker and API running with no parent; SIGTERM lets
    it stop them in order, and whatever is still in its group after `grace` seconds is killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def group_members(pgid: int) -> list[int]:
    """The live processes of a process group (Linux /proc), zombies excluded."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, pgrp, ...
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(stat.parent.name))
    return members


def add_user(data_dir: Path, name: str, role: str, *extra: str) -> None:
    subprocess.run([sys.executable, "-m", "eldercare", "users", "add", name, "--role", role, *extra],
                   input=PASSWORD, text=True, env=env_for(data_dir), check=True, capture_output=True)


def login(api: str, user: str, password: str = PASSWORD) -> dict[str, str]:
    response = httpx.post(f"{api}/auth/token", data={"username": user, "password": password}, timeout=30)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
