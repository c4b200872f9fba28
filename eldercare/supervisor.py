"""Run the platform's processes as children, and stop them in an order that loses nothing.

`eldercare serve` is a small process supervisor: each component is the same `eldercare …` command production runs
in its own container, so what runs on one machine is what runs in docker-compose.
"""

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from eldercare.ports import wait_for_port

log = logging.getLogger(__name__)
# A log record of the step's own (the root command's format), not a problem it reports.
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO) ")


def step_failure(output: str, status: int, most: int = 20) -> str:
    """What a failed one-off step said: its problem lines (a bad CSV row names its line), each once, without the
    step's own `eldercare: error:` prefix, so the user can fix the file without running the step again by hand."""
    lines = [line.strip().removeprefix("eldercare: error: ") for line in output.strip().splitlines()
             if line.strip() and not LOG_LINE.match(line)]
    if not lines:
        return f"exit status {status}"
    if len(lines) == 1:
        return lines[0]
    shown = [*lines[:most - 1], lines[-1]] if len(lines) > most else lines
    return "\n  " + "\n  ".join(shown)


@dataclass
class Child:
    """One component: its name, its command line, and the port that tells it is up (if any)."""

    name: str
    argv: Sequence[str]
    ready_port: int | None = None
    env: dict[str, str] = field(default_factory=dict)  # on top of the supervisor's (this child's own credentials)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)


def eldercare(*args: str) -> list[str]:
    """The command line of an `eldercare` subcommand run by this same interpreter."""
    return [sys.executable, "-m", "eldercare", *args]


class Supervisor:
    """Starts children in order, watches them, and stops them in reverse order on request or on a child's death."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.children: list[Child] = []
        self._stopping = False

    def start(self, child: Child, ready_timeout: float | None = None) -> None:
        """Start `child`; with `ready_timeout`, wait until it listens on its port (raises RuntimeError naming its log
        if it exits first, TimeoutError if it is not up in time)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{child.name}.log"
        log_file = log_path.open("ab")
        child.process = subprocess.Popen(child.argv, env={**self.env, **child.env}, stdout=log_file,
                                         stderr=subprocess.STDOUT)
        self.children.append(child)
        if child.ready_port is not None and ready_timeout is not None:
            # Ready only while the child is alive: the port was free before it started (eldercare.ports.port_problem),
            # so what answers on it then is the child, not another program on the same port.
            try:
                wait_for_port(child.ready_port, timeout=ready_timeout, process=child.process)
            except RuntimeError:
                raise RuntimeError(f"{child.name} exited (status {child.process.returncode}) before listening on port "
                                   f"{child.ready_port}; see {log_path}") from None
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def run_once(self, name: str, argv: Sequence[str]) -> str:
        """Run a one-off step (migrations, an import) to completion; raise with its output if it fails."""
        result = subprocess.run(argv, env=self.env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{name} failed: {step_failure(result.stderr or result.stdout, result.returncode)}")
        return result.stdout

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: object) -> None:
            self._stopping = True

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def watch(self, poll: float = 0.5, on_tick: Callable[[], None] | None = None) -> str | None:
        """Block until asked to stop (returns None) or a child dies (returns its name)."""
        while not self._stopping:
            for child in self.children:
                if child.process is not None and child.process.poll() is not None:
                    return child.name
            if on_tick is not None:
                on_tick()
            time.sleep(poll)
        return None

    def request_stop(self) -> None:
        self._stopping = True

    @property
    def stopping(self) -> bool:
        """Asked to stop (Ctrl-C, SIGTERM or `request_stop`): what fails from here on is the shutdown, not a fault."""
        return self._stopping

    def stop_all(self, timeout: float = 20.0) -> None:
        """SIGTERM each child, newest first (API and workers before the ingester, the broker last)."""
        for child in reversed(self.children):
            process = child.process
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", child.name, timeout)
                process.kill()
                process.wait()
        self.children.clear()


def child_env(overrides: dict[str, str]) -> dict[str, str]:
    """This process's environment plus the platform's settings for the children."""
    env = dict(os.environ)
    env.update(overrides)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
