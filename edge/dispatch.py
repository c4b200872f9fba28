"""Cloud commands (`eldercare/v1/{station}/cmd/{name}`) dispatched through a table of handlers."""

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from station_protocol import ProtocolError, decode

log = logging.getLogger(__name__)


class CommandTable:
    """`name -> handlers`, from every driver that declares the commands it handles (e.g. button: call-ack)."""

    def __init__(self, drivers: Iterable[Any]) -> None:
        self.handlers: dict[str, list[Any]] = defaultdict(list)
        for driver in drivers:
            for name in getattr(driver, "commands", ()):
                self.handlers[name].append(driver)
        self.rejected = 0

    async def dispatch(self, topic: str, payload: bytes) -> None:
        """Validate one command message against the protocol and hand it to its handlers; never raises."""
        try:
            decoded = decode(topic, payload)
        except ProtocolError as exc:
            self.rejected += 1
            log.warning("rejected command on %s: %s", topic, exc)
            return
        name = decoded.topic.command or ""
        handlers = self.handlers.get(name, [])
        if not handlers:
            log.info("no handler for command %r", name)
        body = decoded.message.model_dump(mode="json", by_alias=True)
        for handler in handlers:
            try:
                await handler.handle_command(name, body)
            except Exception:
                log.exception("handler %s failed on %s", getattr(handler, "device_id", handler), name)
