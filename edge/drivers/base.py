"""The one small interface every device driver meets.

A driver moves bytes and turns them into `Reading`s; it never touches MQTT. The agent stamps each reading with the
station, an event id and the device's next `seq`, writes it to the durable outbox, and the publisher sends it.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

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
    # Driver state to persist in the same transaction as this reading (e.g. a counter's last raw values), so that
    # after a crash the driver resumes exactly where the last stored event left off.
    state: Mapping[str, Any] | None = None


Emit = Callable[[Reading], Awaitable[None]]


class Driver(Protocol):
    """A device driver: `run` loops until cancelled, emitting readings; raising means "restart me"."""

    device_id: str

    async def run(self, emit: Emit) -> None: ...


class CommandHandler(Protocol):
    """A driver that reacts to a cloud command, e.g. the call button to `call-ack`."""

    async def handle_command(self, name: str, payload: Mapping[str, Any]) -> None: ...


def now() -> datetime:
    """The wall clock as an aware UTC datetime (drivers stamp readings with it)."""
    return datetime.now(UTC)


def health(device: str, ok: bool, error: str | None = None, detail: Mapping[str, Any] | None = None) -> Reading:
    """A `health` reading for `device`; `error` is cut to the protocol's 500 characters."""
    fields: dict[str, Any] = {"ok": ok}
    if error is not None:
        fields["error"] = error[:500]
    if detail is not None:
        fields["detail"] = dict(detail)
    return Reading(device=device, kind=Kind.HEALTH, ts=now(), fields=fields)


@runtime_checkable
class EntryListener(Protocol):
    """A driver that wants to know when the people counter counts someone in (the face camera's gate)."""

    def on_entries(self) -> None: ...
