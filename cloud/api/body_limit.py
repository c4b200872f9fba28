"""Request bodies over a limit get 413 before they are read: an ASGI middleware in front of everything else.

A declared Content-Length over the limit is answered at once, without reading a byte of the body. A body without
one (chunked) is counted as it streams in; the moment it passes the limit the client gets 413 and the application
is told the client went away, so it stops reading. The server does not read ahead of the application by more than
its flow-control buffer, so memory never holds more than the limit plus one chunk.
"""

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIB = 1024 * 1024


class BodyTooLarge(Exception):
    """Raised to the application's body reader when the body passed the limit (the client already has its 413)."""


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MIB) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _detail(self) -> bytes:
        return json.dumps({"detail": f"request body over {self.max_bytes} bytes"}).encode()

    async def _refuse(self, send: Send) -> None:
        body = self._detail()
        await send({
            "type": "http.response.start",
            "status": 413,
            # The rest of the body is never read: the connection cannot carry another request.
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        })
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        refused = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the client has its 413; what the application says after that goes nowhere
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not refused:
                raise


def _content_length(scope: Scope) -> int | None:
    headers: Any = scope.get("headers", [])
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
