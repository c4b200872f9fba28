"""Decoding (the receiver rules) and encoding of protocol messages."""

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from pydantic import ValidationError
from uuid6 import uuid7

from station_protocol.errors import ProtocolError, plain_problems
from station_protocol.kinds import KINDS
from station_protocol.messages import CallAck, Event, Heartbeat, Message, TimeCheck, _Payload
from station_protocol.topics import Kind, Topic, parse_topic

# The payload model of each kind a station sends (from the one table of kinds), and of each command it receives.
MODELS: dict[Kind, type[_Payload]] = {kind: spec.model for kind, spec in KINDS.items()}
COMMANDS: dict[str, type[_Payload]] = {"call-ack": CallAck, "time-check": TimeCheck}
# The models whose messages are device events (id, device, seq, clock). A model's validator returns an instance of
# exactly that model, so a message's type says what it is: isinstance() against a pydantic base class goes through its
# metaclass (≈ 2 000 instructions a check, and a message took several), `type(m) in`/`is` does not.
EVENT_MODELS: frozenset[type[_Payload]] = frozenset(
    m for m in (*MODELS.values(), *COMMANDS.values()) if issubclass(m, Event))

MAX_FUTURE = timedelta(minutes=5)
EARLIEST = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ cost ≈ 8 000 instructions a message; never mutated
class Decoded:
    """A valid message with its topic; `clock_fault` says why its timestamp cannot be trusted, if it cannot. `utc` is
    the message's `ts` in UTC (None for a message without one)."""

    topic: Topic
    message: Message
    clock_fault: str | None = None
    # The parser's timezone answers every offset question slowly (≈ 0.7 µs, a comparison or a subtraction each): the
    # time converted once here makes the receiver rules and everything after them compare and format it at C speed.
    utc: datetime | None = None


def model_for(topic: Topic) -> type[_Payload]:
    """The payload model a topic carries."""
    if topic.kind is Kind.COMMAND:
        model = COMMANDS.get(topic.command or "")
        if model is None:
            raise ProtocolError([f"unknown command {topic.command!r}; known: {', '.join(sorted(COMMANDS))}"])
        return model
    return MODELS[topic.kind]


def clock_fault(ts: datetime, now: datetime, max_future: timedelta = MAX_FUTURE,
                utc: datetime | None = None) -> str | None:
    """Why `ts` is implausible at `now` (far future, or before 2020), or None; `utc`, if given, is `ts` in UTC
    already (compared instead: the reason still names `ts` as it was sent)."""
    at = ts if utc is None else utc
    if at > now + max_future:
        return f"ts {ts.isoformat()} is {at - now} ahead of the receiver's clock"
    if at < EARLIEST:
        return f"ts {ts.isoformat()} is before 2020: the device clock was probably reset"
    return None


def _topic_mismatches(topic: Topic, station: object, device: object, has_device: bool) -> list[str]:
    problems = []
    if station is not None and station != topic.station:
        problems.append(f"station: payload says {station!r} but the topic is for station {topic.station!r}")
    if has_device and device is not None and device != topic.device:
        problems.append(f"device: payload says {device!r} but the topic is for device {topic.device!r}")
    return problems


class _Constant(str):
    """What `NaN`, `Infinity` or `-Infinity` parsed to, so its place in the payload can be named."""


def _non_finite(value: object, path: str) -> Iterator[str]:
    """`field: problem` for each NaN, Infinity or overflowing number in a parsed JSON value."""
    if isinstance(value, _Constant):
        yield f"{path or 'payload'}: {value} is not allowed (JSON has no NaN or Infinity; send null or leave it out)"
    elif isinstance(value, float) and not math.isfinite(value):
        yield f"{path or 'payload'}: number too large (it overflows to infinity)"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _non_finite(item, f"{path}.{i}" if path else str(i))


def non_finite_problems(payload: bytes | str) -> list[str]:
    """Every NaN, Infinity or -Infinity anywhere in the payload, by field; [] when there is none.

    Python's and pydantic's JSON parsers accept these non-standard constants, but they are not JSON: PostgreSQL's
    json type refuses them (a whole batch would fall back to row-by-row writes) and other consumers choke. A plain
    byte search keeps the common case cheap; only a payload that mentions one is parsed a second time, by a parser
    that marks each constant, so a string that merely contains the word is not refused.
    """
    if isinstance(payload, bytes):
        if b"NaN" not in payload and b"Infinity" not in payload:
            return []
    elif "NaN" not in payload and "Infinity" not in payload:
        return []
    try:
        raw = json.loads(payload, parse_constant=_Constant)
    except (ValueError, RecursionError):
        return []  # not JSON at all: the validator says so
    return list(_non_finite(raw, ""))


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
    has_device = model in EVENT_MODELS
    if isinstance(payload, str):
        payload = payload.encode()
    # The byte search inline: a function call per message cost more than the search itself.
    non_finite = non_finite_problems(payload) if b"NaN" in payload or b"Infinity" in payload else []
    try:
        # model_validate_json without its Python wrapper (the same validator, the same strictness from the config).
        # By the protocol's names only: a field's Python name (a flow's `in_`) is an unknown field on the wire.
        message: _Payload = model.__pydantic_validator__.validate_json(payload, by_name=False)
    except ValidationError as exc:
        named = {problem.split(":", 1)[0] for problem in non_finite}
        problems = non_finite + [p for p in plain_problems(exc) if p.split(" ", 1)[0].rstrip(":") not in named]
        # Slow path only: also say if the payload claims another station/device than its topic.
        try:
            raw = json.loads(payload)
        except (ValueError, RecursionError):  # deep nesting: pydantic refused it; json.loads would recurse out
            raw = None
        if isinstance(raw, dict):
            problems += _topic_mismatches(parsed, raw.get("station"), raw.get("device"), has_device)
        raise ProtocolError(problems) from None
    # (A health detail's 1e999, which parses to infinity without being spelled Infinity, is its model's to refuse.)
    if non_finite:  # in an extra field, which the model keeps unvalidated
        raise ProtocolError(non_finite)
    station = getattr(message, "station", None)
    device = cast(Event, message).device if has_device else None
    mismatches = _topic_mismatches(parsed, station, device, has_device)
    if mismatches:
        raise ProtocolError(mismatches)
    now = now or datetime.now(UTC)
    if type(message) is Heartbeat and message.asked is not None and clock_fault(message.asked, now, max_future):
        # The cloud's own time, echoed: one it cannot have sent is not an answer (a time in the past is: the agent
        # answers a question queued while it was away as soon as it gets it).
        raise ProtocolError([f"asked: {message.asked.isoformat()} is not a time the cloud can have asked at "
                             "(ahead of the receiver's clock, or before 2020)"])
    ts = getattr(message, "ts", None)
    utc = fault = None
    if ts is not None:
        try:
            utc = ts.astimezone(UTC)
        except OverflowError:  # a time at the calendar's edge, such as year 1 at +01:00: compared as it was sent
            utc = None
        fault = clock_fault(ts, now, max_future, utc)
    if fault is None and has_device and cast(Event, message).clock is not None:
        # The agent could not correct this time (stamped before NTP set the clock, in a boot that ended before it
        # did): the day it names may be any day, so it is a clock fault like a time far ahead, counted on no day.
        stamped = cast(Event, message).ts
        fault = f"ts {stamped.isoformat()} stamped by a clock that was not synchronised (the agent says so)"
    return Decoded(topic=parsed, message=message, clock_fault=fault, utc=utc)  # type: ignore[arg-type]


def encode(message: _Payload) -> bytes:
    """The JSON bytes of a message's validated fields (aliases such as `in`, no nulls); unknown extra fields a
    decoded message carried are never written out."""
    # pydantic's serializer called directly: model_dump_json is the same call behind a Python wrapper that also
    # turns the bytes into text, which this turned back into bytes.
    if message.model_extra:
        # Written without its extras. Not by excluding their keys: an extra named like a field's Python name (`in_`
        # beside a flow's `in`) would exclude the field, and the stored flow would have lost its `in`.
        message = message.model_copy()
        object.__setattr__(message, "__pydantic_extra__", {})
    return message.__pydantic_serializer__.to_json(message, by_alias=True, exclude_none=True)


def new_event_id() -> str:
    """A fresh UUIDv7: unique, and sorts by creation time."""
    return str(uuid7())
