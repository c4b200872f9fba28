"""Station protocol v1: the MQTT contract between a station's devices and the cloud (see docs/PROTOCOL.md)."""

from station_protocol.codec import Decoded, decode, encode, new_event_id
from station_protocol.errors import ProtocolError
from station_protocol.messages import (
    Call,
    CallAck,
    CounterChange,
    Door,
    Event,
    Face,
    Flow,
    Health,
    Heartbeat,
    Message,
    Status,
    TimeCheck,
)
from station_protocol.topics import Kind, Topic, parse_topic

__all__ = [
    "Call",
    "CallAck",
    "CounterChange",
    "Decoded",
    "Door",
    "Event",
    "Face",
    "Flow",
    "Health",
    "Heartbeat",
    "Kind",
    "Message",
    "ProtocolError",
    "Status",
    "TimeCheck",
    "Topic",
    "decode",
    "encode",
    "new_event_id",
    "parse_topic",
]
