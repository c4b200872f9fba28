"""The one small interface every device driver meets.

A driver moves bytes and turns them into `Reading`s; it never touches MQTT. The agent stamps each reading with the
station, an event id and the device's next `seq`, writes it to the durable outbox, and the publisher sends it.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from station_protocol import Kind


@dataclass(frozen=True, slots=True)
class Reading:
    """One observation: the protocol fields of a `kind` message except id/station/seq/v/sent."""

    device: str
    kind: Kind
    ts: datetime
    fields: Mapping[str, Any] = field(default_factory=dict)
    # Urgent readings (an emergency press) jump the outbox queue.
    urgent: bool = False


Emit = Callable[[Reading], Awaitable[None]]


class Driver(Protocol):
    """A device driver: `run` loops until cancelled, emitting readings; raising means "restart me"."""

    device_id: str

    async def run(self, emit: Emit) -> None: ...


class CommandHandler(Protocol):
    """A driver that reacts to a cloud command, e.g. the call button to `call-ack`."""

    async def handle_command(self, name: str, payload: Mapping[str, Any]) -> None: ...
