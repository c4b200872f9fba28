"""`eldercare cloud api` as a user runs it: refuses an unmigrated store, serves, stops at once on SIGTERM or Ctrl-C,
ending the live streams cleanly."""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from cloud.api.security import hash_password
from cloud.store.db import make_engine, make_session_factory
from cloud.store.migrate import current_revisions, head_revisions, upgrade
from cloud.store.users import User
from tests.localservices import free_port, wait_for_port


def _api(tmp_path: Path, port: int, database_url: str | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ELDERCARE_DATA_DIR": str(tmp_path),
           "ELDERCARE_SECRET_KEY": "a-test-secret-key-long-enough-0123456789"}
    env.pop("ELDERCARE_DATABASE_URL", None)
    if database_url is not None:
        env["ELDERCARE_DATABASE_URL"] = database_url
    return subprocess.Popen([sys.executable, "-m", "eldercare", "cloud", "api", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _store_with_admin(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'eldercare.db'}")
    upgrade(engine)
    with make_session_factory(engine)() as session:
        session.add(User(name="admin", role="bureau", password_hash=hash_password("a-password")))
        session.commit()
    engine.dispose()


def test_refuses_an_unmigrated_server_database_in_one_line(tmp_path: Path, postgres_url: str) -> None:
    done = _api(tmp_path, free_port(), postgres_url)
    _, err = done.communicate(timeout=60)
    assert done.returncode == 1
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eldercare: error:") and "eldercare cloud migrate" in lines[0]


def test_creates_the_embedded_store_itself(tmp_path: Path) -> None:
    port = free_port()
    server = _api(tmp_path, port)
    try:
        wait_for_port(port, timeout=30, process=server)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
    finally:
        server.terminate()
        server.communicate(timeout=30)
    engine = make_engine(f"sqlite:///{tmp_path / 'eldercare.db'}")
    assert current_revisions(engine) == head_revisions()
    engine.dispose()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serves_and_stops_at_once_with_a_stream_open(tmp_path: Path, stop: signal.Signals) -> None:
    _store_with_admin(tmp_path)
    port = free_port()
    server = _api(tmp_path, port)
    try:
        wait_for_port(port, timeout=30, process=server)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
        assert "智慧养老" in httpx.get(f"http://127.0.0.1:{port}/").text
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json").status_code == 200
        token = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token",
                           data={"username": "admin", "password": "a-password"}).json()["access_token"]
        opened, ended = threading.Event(), threading.Event()
        received: list[str] = []

        def watch() -> None:
            headers = {"Authorization": f"Bearer {token}"}
            try:
                with httpx.stream("GET", f"http://127.0.0.1:{port}/api/v1/alerts/stream", headers=headers,
                                  timeout=30) as live:
                    for line in live.iter_lines():
                        received.append(line)
                        opened.set()
            except httpx.HTTPError as exc:
                received.append(f"cut: {exc!r}")
            ended.set()

        threading.Thread(target=watch, daemon=True).start()
        assert opened.wait(10)
        server.send_signal(stop)
        _, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    # The stream is told and ends cleanly (the dashboard reconnects), rather than being cut after the graceful
    # timeout with an error and a traceback in the log.
    assert ended.wait(10)
    assert "event: closed" in received and 'data: {"reason": "server stopping"}' in received, received
    log = err.decode()
    assert "Traceback" not in log and "ERROR" not in log, log
    assert server.returncode == (0 if stop == signal.SIGINT else -signal.SIGTERM)


def test_invented_forwarded_for_addresses_do_not_reset_the_login_limit(tmp_path: Path) -> None:
    _store_with_admin(tmp_path)
    port = free_port()
    server = _api(tmp_path, port)
    try:
        wait_for_port(port, timeout=30, process=server)
        codes = [httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/token",
                            data={"username": "admin", "password": "wrong"},
                            headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(12)]
        assert codes[0] == 401 and codes[-1] == 429, codes
    finally:
        server.terminate()
        server.wait(30)
