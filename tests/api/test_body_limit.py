"""Bodies over 1 MiB get 413 before they are read, against a real uvicorn server over raw sockets: a declared 30 MB
body (the login form an attacker would send) and a chunked one with no declared length."""

import select
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine

from tests.api.conftest import PASSWORD, make_app
from tests.api.server import serve

MIB = 1024 * 1024
BODY = 30 * MIB
CHUNK = b"a" * 65536


@pytest.fixture
def address(engine: Engine, tmp_path: Path) -> Iterator[tuple[str, int]]:
    with serve(make_app(engine, tmp_path)) as url:
        parts = urlsplit(url)
        assert parts.hostname and parts.port
        yield parts.hostname, parts.port


def rss_bytes() -> int:
    """This process's resident memory (the server runs in a thread of it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            break
        data += part
    return data


def send_until_refused(sock: socket.socket, total: int, chunked: bool) -> tuple[int, bytes]:
    """Send up to `total` body bytes; stop when the server answers or drops the connection. Returns the bytes that
    left this side and whatever the server answered."""
    sent = 0
    pending = b""
    answer = b""
    sock.setblocking(False)
    try:
        while sent < total or pending:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                answer = sock.recv(65536)
                break
            if not writable:
                raise AssertionError("the server neither reads nor answers")
            if not pending:
                pending = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n" if chunked else CHUNK
            try:
                n = sock.send(pending)
            except (BlockingIOError, InterruptedError):
                continue
            sent += n
            pending = pending[n:]
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.setblocking(True)
    return sent, answer


def login_head(host: str, port: int, extra: str) -> bytes:
    return (f"POST /api/v1/auth/token HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n{extra}\r\n").encode()


def test_a_declared_30_mb_body_is_refused_before_a_byte_is_read(address: tuple[str, int]) -> None:
    host, port = address
    before = rss_bytes()
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(login_head(host, port, f"Content-Length: {BODY}\r\n"))
        answer = read_response(sock)  # nothing of the body sent yet: the answer comes from the header alone
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"connection: close" in answer.lower()
        sent, _ = send_until_refused(sock, BODY, chunked=False)
    # The server closed the connection instead of reading on: far less than the 30 MB got through (what did sits in
    # socket buffers), and the process did not grow by the body (before the limit: 125 -> 243 MB).
    assert sent < BODY // 3, sent
    assert rss_bytes() - before < 10 * MIB


def test_a_chunked_body_is_cut_off_past_one_mib(address: tuple[str, int]) -> None:
    host, port = address
    before = rss_bytes()
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(login_head(host, port, "Transfer-Encoding: chunked\r\n"))
        sent, answer = send_until_refused(sock, BODY, chunked=True)
        answer += read_response(sock) if b"\r\n\r\n" not in answer else b""
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert MIB < sent < BODY // 3, sent
    assert rss_bytes() - before < 10 * MIB


def test_a_body_under_the_limit_is_read_as_usual(address: tuple[str, int]) -> None:
    host, port = address
    form = f"username=admin&password={PASSWORD.replace(' ', '+')}&pad={'x' * (MIB - 100)}".encode()
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(login_head(host, port, f"Content-Length: {len(form)}\r\nConnection: close\r\n") + form)
        assert read_response(sock).startswith(b"HTTP/1.1 200")
