"""Ports on this machine: a free one for a child service, whether one can be taken, and waiting until a child
listens on its port."""

import contextlib
import errno
import socket
import subprocess
import time


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_problem(host: str, port: int, option: str) -> str | None:
    """Why a child could not listen on host:port (one line naming `option`, the flag that chooses it), or None.

    Bound briefly with SO_REUSEADDR, as uvicorn and Mosquitto bind: a port only in TIME_WAIT is free to them too, and
    one another process listens on is not. Checked before any child starts, since a port someone else answers on
    would otherwise pass for the child's own."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:
        return f"cannot listen on {host}: {exc.strerror or exc}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):  # EACCES: a port below 1024 without the right
                reason = "is in use" if exc.errno == errno.EADDRINUSE else "needs privileges this user lacks"
                return f"port {port} on {host} {reason}; choose another with {option}"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another with --host or {option}"
    return None


def wait_for_port(port: int, timeout: float = 15.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until something accepts connections on 127.0.0.1:port (while `process`, if given, is still running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with status {process.returncode} before listening on port {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            if process is None or process.poll() is None:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")
