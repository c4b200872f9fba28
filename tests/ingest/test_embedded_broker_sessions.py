"""`eldercare serve`'s embedded broker keeps no session across its own restarts, and serve starts it with the
ingester: a restart of the two together must not read as a lost session (an error and a counted loss on every start
of the platform). Real processes: the embedded broker as serve starts it, and `eldercare cloud ingest` over MQTT
3.1.1."""

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from eldercare.ports import free_port, wait_for_port
from tests.ingest.conftest import ROOT, ingest_process, prepare, terminate, wait_connected

INGEST = ("--mqtt-version", "3.1.1", "--log-format", "json")


@dataclass
class EmbeddedBroker:
    """The embedded broker process, on a port kept across its restarts (`port` as the ingest helpers read it)."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cloud.embedded_broker", "--host", "127.0.0.1", "--port", str(self.port),
             "--allow-anonymous"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    running = EmbeddedBroker(free_port())
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _records(log: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def _run(broker: EmbeddedBroker, url: str, *flags: str) -> list[dict[str, Any]]:
    """Start an ingester, wait until it ingests, stop it; its log records."""
    process = ingest_process(broker, url, "serve-ingest", *INGEST, *flags)  # type: ignore[arg-type]
    lines = wait_connected(process)
    return _records("".join(lines) + terminate(process))


@pytest.mark.timeout(180)
def test_restarting_with_the_embedded_broker_is_not_a_lost_session(broker: EmbeddedBroker, sqlite_url: str) -> None:
    prepare(sqlite_url)
    first = _run(broker, sqlite_url, "--broker-keeps-no-sessions")
    assert any(r["msg"].startswith("first start of client id serve-ingest") for r in first)

    # Both restarted, as serve does: the new broker has no session, and nothing could have been dealt meanwhile.
    broker.stop()
    broker.start()
    both = _run(broker, sqlite_url, "--broker-keeps-no-sessions")
    assert [r["session_present"] for r in both if r["msg"] == "connected"] == [False]
    assert not [r for r in both if r["level"] in ("error", "warning")], both
    assert any("no session on the broker for client id serve-ingest, as expected" in r["msg"] for r in both)

    # Without the flag the same restart is reported as a loss: the flag is what tells the two apart.
    broker.stop()
    broker.start()
    plain = _run(broker, sqlite_url)
    assert [r for r in plain if r["level"] == "error" and r["msg"].startswith("session lost")]
