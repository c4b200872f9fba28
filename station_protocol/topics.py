"""Topic building and parsing: `eldercare/v1/{station}/{device}/{kind}` and the agent/cmd topics."""

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from station_protocol.errors import ProtocolError
from station_protocol.ids import RESERVED_DEVICE_IDS, id_problem, station_id_problem

ROOT = "eldercare/v1"


class Kind(StrEnum):
    """What a topic carries; the value is the topic's last segment."""

    FLOW = "flow"
    DOOR = "door"
    FACE = "face"
    CALL = "call"
    HEALTH = "health"
    STATUS = "status"
    HEARTBEAT = "heartbeat"
    COMMAND = "cmd"


DEVICE_KINDS = frozenset({Kind.FLOW, Kind.DOOR, Kind.FACE, Kind.CALL, Kind.HEALTH})
AGENT_KINDS = frozenset({Kind.STATUS, Kind.HEARTBEAT})
# Topics whose last message the broker keeps for new subscribers.
RETAINED_KINDS = frozenset({Kind.HEALTH, Kind.STATUS})


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic. `device` is "agent" for agent topics; `command` is set only for `cmd/{name}`."""

    station: str
    kind: Kind
    device: str = "agent"
    command: str | None = None

    def __str__(self) -> str:
        if self.kind is Kind.COMMAND:
            return f"{ROOT}/{self.station}/cmd/{self.command}"
        if self.kind in AGENT_KINDS:
            return f"{ROOT}/{self.station}/agent/{self.kind}"
        return f"{ROOT}/{self.station}/{self.device}/{self.kind}"

    @property
    def retained(self) -> bool:
        return self.kind in RETAINED_KINDS


def _check(value: str, what: str) -> None:
    problem = station_id_problem(value) if what == "station" else id_problem(value, what)
    if problem:
        raise ProtocolError([problem])


def device_topic(station: str, device: str, kind: Kind | str) -> Topic:
    """The topic a device's event of `kind` is published on; refuses bad ids."""
    kind = Kind(kind)
    if kind not in DEVICE_KINDS:
        raise ProtocolError([f"{kind} is not a device message type"])
    _check(station, "station")
    _check(device, "device")
    if device in RESERVED_DEVICE_IDS:
        raise ProtocolError([f"device id {device!r} is reserved by the protocol"])
    return Topic(station=station, kind=kind, device=device)


def agent_topic(station: str, kind: Kind | str) -> Topic:
    """`agent/status` or `agent/heartbeat` of a station."""
    kind = Kind(kind)
    if kind not in AGENT_KINDS:
        raise ProtocolError([f"{kind} is not an agent message type"])
    _check(station, "station")
    return Topic(station=station, kind=kind)


def command_topic(station: str, name: str) -> Topic:
    """`cmd/{name}` of a station, e.g. `call-ack`."""
    _check(station, "station")
    _check(name, "command")
    return Topic(station=station, kind=Kind.COMMAND, device="cmd", command=name)


def station_filter(station: str = "+") -> str:
    """Subscription filter for everything a station (or, with `+`, every station) publishes."""
    return f"{ROOT}/{station}/#"


# Topics repeat (a station's few devices, message after message): parsing each once keeps ingest fast.
@lru_cache(maxsize=65536)
def parse_topic(topic: str) -> Topic:
    """Parse and validate an MQTT topic; raises ProtocolError naming what is wrong."""
    parts = topic.split("/")
    if len(parts) < 3 or f"{parts[0]}/{parts[1]}" != ROOT:
        raise ProtocolError([f"topic {topic!r} does not start with {ROOT}/"])
    if len(parts) != 5:
        raise ProtocolError([f"topic {topic!r} must have 5 levels: {ROOT}/{{station}}/{{device}}/{{type}}"])
    _, _, station, middle, last = parts
    _check(station, "station")
    if middle == "cmd":
        _check(last, "command")
        return Topic(station=station, kind=Kind.COMMAND, device="cmd", command=last)
    if middle == "agent":
        if last not in AGENT_KINDS:
            raise ProtocolError([f"agent topic type {last!r} is not one of: status, heartbeat"])
        return Topic(station=station, kind=Kind(last))
    _check(middle, "device")
    if last not in DEVICE_KINDS:
        names = ", ".join(sorted(DEVICE_KINDS))
        raise ProtocolError([f"message type {last!r} is not one of: {names}"])
    return Topic(station=station, kind=Kind(last), device=middle)
