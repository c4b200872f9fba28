"""What a reading becomes in the outbox: its protocol payload (validated, size-limited), whether it may be dropped to
make room, and the row the publisher sends (from the outbox, or from memory: edge/spill.py)."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.drivers.base import Reading
from firmware_config.station import AGENT_OWN_DEVICE
from station_protocol import Kind, encode
from station_protocol.codec import MODELS

log = logging.getLogger(__name__)

# The largest event the outbox takes: far below the 64 KiB message_size_limit of deploy/mosquitto/mosquitto.conf.
# Mosquitto answers a bigger publish with PUBACK reason 0x95, which paho-mqtt 2.1 cannot parse: its network thread
# dies and the agent would hang on that link with the event forever at the head of its queue.
MAX_PAYLOAD = 16 * 1024


@dataclass(frozen=True, slots=True)
class Row:
    """One stored message ready to publish."""

    id: int
    topic: str
    payload: bytes
    retain: bool
    urgent: bool = False


def droppable(reading: Reading) -> bool:
    """Health reports may be dropped to make room, except the outbox's own: it reports that very condition."""
    return droppable_kind(reading.kind, reading.device)


def droppable_kind(kind: Kind, device: str) -> bool:
    return kind is Kind.HEALTH and device != AGENT_OWN_DEVICE


@dataclass(frozen=True, slots=True)
class Restored:
    """A reading kept in the side file at a damage stop (edge/pending.py), to store in the outbox again: with its own
    `seq` and `payload(seq)` if it was numbered, else `payload(seq)` makes it with the device's next seq. `at` and
    `boot` are when it was read (a held one is re-stamped from them); `state` is its driver state as JSON text."""

    device: str
    kind: Kind
    topic: str
    droppable: bool
    seq: int | None
    payload: Callable[[int], bytes]
    urgent: bool
    held: bool
    at: tuple[float, float]
    boot: str
    state: str | None


def encode_event(station: str, reading: Reading, seq: int) -> bytes:
    """The event's payload with a fresh id (validated: raises ValueError, also for an event over `MAX_PAYLOAD`)."""
    from station_protocol import new_event_id

    kind = Kind(reading.kind)
    data: dict[str, Any] = {"v": 1, "id": uuid.UUID(new_event_id()), "station": station,
                            "device": reading.device, "seq": seq, "ts": reading.ts, **reading.fields}
    model = MODELS[kind]
    payload = encode(model.model_validate(data))
    if len(payload) <= MAX_PAYLOAD:
        return payload
    if kind is Kind.HEALTH and data.get("detail"):  # a driver's diagnostics: the health report itself matters
        log.warning("health detail too large, sent truncated", extra={"device": reading.device,
                                                                      "bytes": len(payload)})
        data["detail"] = {"truncated": True, "bytes": len(payload)}
        return encode(model.model_validate(data))
    raise ValueError(f"a {kind.value} event of {len(payload)} bytes is over the outbox's {MAX_PAYLOAD}-byte limit")
