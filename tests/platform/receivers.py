"""Stand-ins on 127.0.0.1 for what Alertmanager sends to, which the tests cannot reach: WeCom's API (企业微信: gettoken,
then message/send with the token), a webhook, a heartbeat service's ping URL (the dead man's switch), and an SMTP
server. Each records what it was sent, as the real one would have received it, and answers as the real one does."""

import base64
import contextlib
import email
import email.policy
import json
import socketserver
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.localservices import free_port

WECOM_PREFIX = "/cgi-bin/"
WEBHOOK_PATH = "/hook"
# A heartbeat service's check (healthchecks.io: https://hc-ping.com/<uuid>); any other /ping/ path is a check it does
# not know, answered 404 as healthchecks.io does.
PING_PATH = "/ping/5f0b7e8a-2c1d-4e6f-9a3b-7d8c9e0f1a2b"


@dataclass
class HttpReceiver:
    """WeCom's API under /cgi-bin/, a webhook at /hook and a heartbeat service's ping URL, on one port."""

    port: int
    corp_id: str
    secret: str
    token: str = "stand-in-access-token"
    token_requests: list[dict[str, str]] = field(default_factory=list)
    wecom_messages: list[dict[str, Any]] = field(default_factory=list)
    webhook_posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    pings: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (time.monotonic(), body)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def wecom_api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WECOM_PREFIX}"

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    @property
    def ping_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PING_PATH}"

    @property
    def unknown_ping_url(self) -> str:
        """A ping URL with a mistyped check id: answered 404, as healthchecks.io answers one."""
        return f"http://127.0.0.1:{self.port}/ping/00000000-0000-0000-0000-000000000000"


def _handler(receiver: HttpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path != f"{WECOM_PREFIX}gettoken":
                self._answer(404, {"errcode": 404, "errmsg": "not found"})
                return
            query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            with receiver.lock:
                receiver.token_requests.append(query)
            if (query.get("corpid"), query.get("corpsecret")) != (receiver.corp_id, receiver.secret):
                self._answer(200, {"errcode": 40001, "errmsg": "invalid credential"})  # WeCom's answer
                return
            self._answer(200, {"errcode": 0, "errmsg": "ok", "access_token": receiver.token, "expires_in": 7200})

        def do_POST(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            if url.path == f"{WECOM_PREFIX}message/send":
                query = dict(urllib.parse.parse_qsl(url.query))
                if query.get("access_token") != receiver.token:
                    self._answer(200, {"errcode": 40014, "errmsg": "invalid access_token"})
                    return
                with receiver.lock:
                    receiver.wecom_messages.append(body)
                self._answer(200, {"errcode": 0, "errmsg": "ok"})
            elif url.path == WEBHOOK_PATH:
                with receiver.lock:
                    receiver.webhook_posts.append((url.query, body))
                self._answer(200, {})
            elif url.path == PING_PATH:
                with receiver.lock:
                    receiver.pings.append((time.monotonic(), body))
                self._answer(200, {})
            else:
                self._answer(404, {"errcode": 404, "errmsg": "not found"})

    return Handler


@contextlib.contextmanager
def _serving(server: socketserver.BaseServer) -> Iterator[None]:
    """`server` answering in a thread of its own until the block ends, then shut down and closed."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextlib.contextmanager
def run_http_receiver(corp_id: str, secret: str) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(port=free_port(), corp_id=corp_id, secret=secret)
    with _serving(ThreadingHTTPServer(("127.0.0.1", receiver.port), _handler(receiver))):
        yield receiver


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    login: tuple[str, str] | None
    message: EmailMessage

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, "no text/plain part"
        return str(part.get_content())


@dataclass
class SmtpSink:
    """An SMTP server that takes every message (after AUTH PLAIN or LOGIN, or none) and offers no STARTTLS."""

    port: int
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def smarthost(self) -> str:
        return f"127.0.0.1:{self.port}"


def _smtp_handler(sink: SmtpSink) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def _say(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")
            self.wfile.flush()

        def _read(self) -> str:
            return self.rfile.readline().decode("utf-8", "replace").rstrip("\r\n")

        def handle(self) -> None:
            sender, recipients, login = "", [], None
            self._say("220 127.0.0.1 ESMTP stand-in")
            while line := self._read():
                verb, _, argument = line.partition(" ")
                verb = verb.upper()
                if verb == "EHLO":
                    self._say("250-127.0.0.1")
                    self._say("250 AUTH PLAIN LOGIN")
                elif verb == "HELO":
                    self._say("250 127.0.0.1")
                elif verb == "AUTH":
                    mechanism, _, initial = argument.partition(" ")
                    if mechanism.upper() == "PLAIN":
                        _, user, password = base64.b64decode(initial).decode().split("\0")
                    else:
                        self._say("334 VXNlcm5hbWU6")
                        user = base64.b64decode(self._read()).decode()
                        self._say("334 UGFzc3dvcmQ6")
                        password = base64.b64decode(self._read()).decode()
                    login = (user, password)
                    self._say("235 2.7.0 Authentication successful")
                elif verb == "MAIL":
                    sender = argument.split(":", 1)[1].strip().strip("<>").split(">")[0]
                    self._say("250 OK")
                elif verb == "RCPT":
                    recipients.append(argument.split(":", 1)[1].strip().strip("<>"))
                    self._say("250 OK")
                elif verb == "DATA":
                    self._say("354 End data with <CR><LF>.<CR><LF>")
                    data = bytearray()
                    while (raw := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                        data += raw[1:] if raw.startswith(b"..") else raw
                    message = email.message_from_bytes(bytes(data), policy=email.policy.default)
                    assert isinstance(message, EmailMessage)
                    with sink.lock:
                        sink.mails.append(Mail(sender, recipients, login, message))
                    sender, recipients = "", []
                    self._say("250 OK queued")
                elif verb == "QUIT":
                    self._say("221 Bye")
                    return
                else:  # RSET, NOOP
                    self._say("250 OK")

    return Handler


class _SmtpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


@contextlib.contextmanager
def run_smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    with _serving(_SmtpServer(("127.0.0.1", sink.port), _smtp_handler(sink))):
        yield sink
