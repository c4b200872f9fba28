"""Decoding (the receiver rules) and encoding of protocol messages."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from uuid6 import uuid7

from station_protocol.errors import ProtocolError, plain_problems
from station_protocol.messages import (
    Call,
    CallAck,
    Door,
    Event,
    Face,
    Flow,
    Health,
    Heartbeat,
    Message,
    Status,
    _Payload,
)
from station_protocol.topics import Kind, Topic, parse_topic

MODELS: dict[Kind, type[_Payload]] = {
    Kind.FLOW: Flow,
    Kind.DOOR: Door,
    Kind.FACE: Face,
    Kind.CALL: Call,
    Kind.HEALTH: Health,
    Kind.STATUS: Status,
    Kind.HEARTBEAT: Heartbeat,
}
COMMANDS: dict[str, type[_Payload]] = {"call-ack": CallAck}

MAX_FUTURE = timedelta(minutes=5)
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A valid message with its topic; `clock_fault` says why its timestamp cannot be trusted, if it cannot."""

    topic: Topic
    message: Message
    clock_fault: str | None = None


def model_for(topic: Topic) -> type[_Payload]:
    """The payload model a topic carries."""
    if topic.kind is Kind.COMMAND:
        model = COMMANDS.get(topic.command or "")
        if model is None:
            raise ProtocolError([f"unknown command {topic.command!r}; known: {', '.join(sorted(COMMANDS))}"])
        return model
    return MODELS[topic.kind]


def clock_fault(ts: datetime, now: datetime, max_future: timedelta = MAX_FUTURE) -> str | None:
    """Why `ts` is implausible at `now` (far future, or before 2020), or None."""
    if ts > now + max_future:
        return f"ts {ts.isoformat()} is {ts - now} ahead of the receiver's clock"
    if ts < EARLIEST:
        return f"ts {ts.isoformat()} is before 2020: the device clock was probably reset"
    return None


def _topic_mismatches(topic: Topic, station: object, device: object, has_device: bool) -> list[str]:
    problems = []
    if station is not None and station != topic.station:
        problems.append(f"station: payload says {station!r} but the topic is for station {topic.station!r}")
    if has_device and device is not None and device != topic.device:
        problems.append(f"device: payload says {device!r} but the topic is for device {topic.device!r}")
    return problems


def decode(
    topic: str | Topic,
    payload: bytes | str,
    *,
    now: datetime | None = None,
    max_future: timedelta = MAX_FUTURE,
) -> Decoded:
    """Validate one MQTT message against protocol v1; raises ProtocolError with every problem found."""
    parsed = parse_topic(topic) if isinstance(topic, str) else topic
    model = model_for(parsed)
    has_device = issubclass(model, Event)
    try:
        # model_validate_json without its Python wrapper (the same validator, the same strictness from the config).
        message: _Payload = model.__pydantic_validator__.validate_json(payload)
    except ValidationError as exc:
        problems = plain_problems(exc)
        # Slow path only: also say if the payload claims another station/device than its topic.
        try:
            raw = json.loads(payload)
        except (ValueError, RecursionError):  # deep nesting: pydantic refused it; json.loads would recurse out
            raw = None
        if isinstance(raw, dict):
            problems += _topic_mismatches(parsed, raw.get("station"), raw.get("device"), has_device)
        raise ProtocolError(problems) from None
    station = getattr(message, "station", None)
    device = message.device if isinstance(message, Event) else None
    mismatches = _topic_mismatches(parsed, station, device, has_device)
    if mismatches:
        raise ProtocolError(mismatches)
    ts = getattr(message, "ts", None)
    fault = clock_fault(ts, now or datetime.now(UTC), max_future) if ts is not None else None
    return Decoded(topic=parsed, message=message, clock_fault=fault)  # type: ignore[arg-type]


def encode(message: _Payload) -> bytes:
    """The JSON bytes to publish for a message (aliases such as `in`, no nulls)."""
    return message.model_dump_json(by_alias=True, exclude_none=True).encode()


def new_event_id() -> str:
    """A fresh UUIDv7: unique, and sorts by creation time."""
    return str(uuid7())
