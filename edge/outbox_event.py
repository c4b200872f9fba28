"""What a reading becomes in the outbox: its protocol payload (validated, size-limited), whether it may be dropped to
make room, and the row the publisher sends (from the outbox, or from memory: edge/spill.py)."""

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from edge.drivers.base import Reading
from firmware_config.station import AGENT_OWN_DEVICE
from station_protocol import Kind, encode
from station_protocol.codec import MODELS
from station_protocol.errors import plain_problems

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
    try:
        payload = encode(model.model_validate(data))
    except ValidationError as exc:
        if kind is not Kind.HEALTH or not data.get("detail") or any(e["loc"][:1] != ("detail",) for e in exc.errors()):
            raise
        # A driver's diagnostics the protocol does not take (nested, too long, over its 2 KiB): the health report
        # itself matters, so it goes out with a marker in their place.
        size = len(json.dumps(data["detail"], default=str).encode())
        log.warning("health detail outside the protocol's bounds, sent without it",
                    extra={"device": reading.device, "bytes": size, "problem": "; ".join(plain_problems(exc))[:300]})
        data["detail"] = {"truncated": True, "bytes": size}
        payload = encode(model.model_validate(data))
    if len(payload) <= MAX_PAYLOAD:
        return payload
    raise ValueError(f"a {kind.value} event of {len(payload)} bytes is over the outbox's {MAX_PAYLOAD}-byte limit")
