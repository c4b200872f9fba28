"""The compose proxy's Caddyfile run by a real Caddy (Debian's `caddy`) in front of a real `eldercare cloud api`:
the API and Grafana answer over TLS with the mounted certificate, plain HTTP only redirects."""

import http.server
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from cloud.provision.tls import make_tls
from tests.localservices import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy/caddy/Caddyfile"
pytestmark = pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed (apt-get install caddy)")


def test_the_caddyfile_is_valid_as_shipped() -> None:
    result = subprocess.run(["caddy", "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
                            env={**os.environ, "ELDERCARE_PUBLIC_HOST": "eldercare.bureau.gov.cn"},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


@contextmanager
def process(argv: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[None]:
    with log.open("wb") as out:
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=60, process=child)
        yield
    finally:
        child.terminate()
        child.wait(20)


@contextmanager
def grafana_stand_in(port: int) -> Iterator[None]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"grafana stand-in")

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.timeout(180)
def test_api_and_grafana_over_tls_only(tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "tls", ["localhost"])
    https, grafana_https, plain, admin = free_port(), free_port(), free_port(), free_port()
    api_port, grafana_port = free_port(), free_port()
    # The shipped file, on free ports and with the certificate where this test keeps it.
    text = CADDYFILE.read_text()
    for public, local in (("443", https), ("3000", grafana_https), ("80", plain)):
        text = text.replace(f"{{$ELDERCARE_PUBLIC_HOST}}:{public} {{", f"{{$ELDERCARE_PUBLIC_HOST}}:{local} {{")
    text = text.replace("/certs/server.crt", str(tls.server_cert)).replace("/certs/server.key", str(tls.server_key))
    # Loopback only, and Caddy's automatic redirects on the test's plain port rather than 80.
    text = re.sub(r"admin 127\.0\.0\.1:\d+", f"admin 127.0.0.1:{admin}\n\tdefault_bind 127.0.0.1\n"
                  f"\thttp_port {plain}\n\thttps_port {https}", text)
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(text)

    env = {k: v for k, v in os.environ.items() if not k.startswith("ELDERCARE_")}
    env["ELDERCARE_DATA_DIR"] = str(tmp_path / "data")
    subprocess.run([sys.executable, "-m", "eldercare", "cloud", "migrate"], env=env, check=True, capture_output=True)
    caddy_env = {**env, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg"),
                 "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "ELDERCARE_PUBLIC_HOST": "localhost",
                 "ELDERCARE_API_UPSTREAM": f"127.0.0.1:{api_port}",
                 "ELDERCARE_GRAFANA_UPSTREAM": f"127.0.0.1:{grafana_port}"}
    with process([sys.executable, "-m", "eldercare", "cloud", "api", "--port", str(api_port)], env,
                 tmp_path / "api.log", api_port), grafana_stand_in(grafana_port), \
            process(["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"], caddy_env,
                    tmp_path / "caddy.log", https):
        wait_for_port(grafana_https)
        with httpx.Client(verify=ssl.create_default_context(cafile=str(tls.ca_cert)), timeout=30) as client:
            assert client.get(f"https://localhost:{https}/healthz").status_code == 200
            login = client.post(f"https://localhost:{https}/api/v1/auth/token",
                                data={"username": "nobody", "password": "wrong"})
            assert login.status_code == 401  # the API itself answered, through the proxy
            # The API's metrics answer anyone who reaches the API: not through the public name.
            assert httpx.get(f"http://127.0.0.1:{api_port}/metrics", timeout=10).status_code == 200
            assert client.get(f"https://localhost:{https}/metrics").status_code == 404
            assert client.get(f"https://localhost:{https}/metrics/").status_code == 404
            assert client.get(f"https://localhost:{grafana_https}/").text == "grafana stand-in"
            moved = client.get(f"http://localhost:{plain}/api/v1/stations", follow_redirects=False)
            assert moved.status_code == 301
            assert moved.headers["location"] == "https://localhost/api/v1/stations"  # to port 443
            # Nothing of the API over plain HTTP on the TLS ports.
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"http://localhost:{https}/healthz", timeout=10).raise_for_status()
        # A client that does not trust the bureau's CA is refused.
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://localhost:{https}/healthz", timeout=10)
