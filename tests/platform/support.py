"""Run `eldercare serve`/`demo` as a user does: a subprocess on free ports, stopped by the test."""

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
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    env["ELDERCARE_DATA_DIR"] = str(data_dir)
    return env


@contextmanager
def running(args: list[str], data_dir: Path, api_port: int) -> Iterator[Running]:
    """Start `eldercare ARGS`, collect its output lines, and make sure it is gone afterwards."""
    process = subprocess.Popen([sys.executable, "-m", "eldercare", *args], env=env_for(data_dir), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    run = Running(process, f"http://127.0.0.1:{api_port}/api/v1", data_dir)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            run.lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield run
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def add_user(data_dir: Path, name: str, role: str, *extra: str) -> None:
    subprocess.run([sys.executable, "-m", "eldercare", "users", "add", name, "--role", role, *extra],
                   input=PASSWORD, text=True, env=env_for(data_dir), check=True, capture_output=True)


def login(api: str, user: str, password: str = PASSWORD) -> dict[str, str]:
    response = httpx.post(f"{api}/auth/token", data={"username": user, "password": password}, timeout=30)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
