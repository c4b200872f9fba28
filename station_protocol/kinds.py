"""One entry per message kind a station sends: its model, its AsyncAPI summary, and what the cloud takes from it.

Adding a kind is one `Kind` member in topics.py, its model in messages.py and one entry here (docs/adding-a-message-
kind.md). Every field of an entry is required, and importing this module fails when a kind has no entry, so a kind
cannot reach ingest half-described.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from station_protocol.messages import Call, Door, Face, Flow, Health, Heartbeat, Status, _Payload
from station_protocol.topics import Kind

M = TypeVar("M", bound=_Payload)
Fields = dict[str, int | float | str]


# What the cloud's rules read from one message, as a plain tuple (the worker builds one per stored event, so it is kept
# cheap): (entries, exits, period_s, state, ref). `state`: door state, face role, call action, health ok/bad or
# online/offline (or `answer`, a heartbeat answering a time check); `ref`: person or call id (or the time the check
# was asked).
Seen = tuple[int, int, int, str, str]
NOTHING: Seen = (0, 0, 0, "", "")
ANSWER = "answer"  # a heartbeat's state when it answers a time check


class Telemetry(NamedTuple):
    """The InfluxDB tags (beyond station, town, grade and device) and fields of one message; the dashboards' names.

    Numeric fields only where a dashboard needs a number: servers such as VictoriaMetrics drop string fields.
    """

    tags: dict[str, str]
    fields: Fields


@dataclass(frozen=True, slots=True)
class KindSpec(Generic[M]):
    """Everything about one message kind, in one place."""

    kind: Kind
    model: type[M]
    summary: str  # the AsyncAPI message summary
    seen: Callable[[M], Seen]  # for the rules, from a decoded message
    seen_stored: Callable[[Mapping[str, Any]], Seen]  # the same, from a stored payload (as `encode` wrote it)
    telemetry: Callable[[M], Telemetry]


def _flow_telemetry(m: Flow) -> Telemetry:
    fields: Fields = {"in": m.in_, "out": m.out, "period_s": m.period_s}
    if m.counter_in is not None:
        fields["counter_in"] = m.counter_in
    if m.counter_out is not None:
        fields["counter_out"] = m.counter_out
    return Telemetry({}, fields)


def _health_telemetry(m: Health) -> Telemetry:
    fields: Fields = {"ok": int(m.ok)}
    if m.error:
        fields["error"] = m.error
    return Telemetry({}, fields)


def _heartbeat_telemetry(m: Heartbeat) -> Telemetry:
    fields: Fields = {"uptime_s": m.uptime_s, "outbox": m.outbox}
    if m.clock_offset_ms is not None:
        fields["clock_offset_ms"] = m.clock_offset_ms
    return Telemetry({}, fields)


FLOW = KindSpec(
    Kind.FLOW, Flow, "People entering and leaving in one counting period",
    seen=lambda m: (m.in_, m.out, m.period_s, "", ""),
    seen_stored=lambda p: (p["in"], p["out"], p["period_s"], "", ""),
    telemetry=_flow_telemetry,
)
DOOR = KindSpec(
    Kind.DOOR, Door, "A door magnet's state change",
    seen=lambda m: (0, 0, 0, m.state, ""),
    seen_stored=lambda p: (0, 0, 0, p["state"], ""),
    telemetry=lambda m: Telemetry({"state": m.state},
                                  {"open": int(m.state == "open"), "fault": int(m.state == "fault")}),
)
FACE = KindSpec(
    Kind.FACE, Face, "A person recognised or seen by the face camera (ids only, never images)",
    seen=lambda m: (0, 0, 0, m.role, m.person),
    seen_stored=lambda p: (0, 0, 0, p["role"], p["person"]),
    telemetry=lambda m: Telemetry({"role": m.role}, {"seen": 1, "distance": m.distance, "person": m.person}),
)
CALL = KindSpec(
    Kind.CALL, Call, "An emergency call pressed or cancelled",
    seen=lambda m: (0, 0, 0, m.action, m.call),
    seen_stored=lambda p: (0, 0, 0, p["action"], p["call"]),
    telemetry=lambda m: Telemetry({}, {"pressed": int(m.action == "pressed"),
                                       "cancelled": int(m.action == "cancelled"), "call": m.call}),
)
HEALTH = KindSpec(
    Kind.HEALTH, Health, "A device's health (retained)",
    seen=lambda m: (0, 0, 0, "ok" if m.ok else "bad", ""),
    seen_stored=lambda p: (0, 0, 0, "ok" if p.get("ok") else "bad", ""),
    telemetry=_health_telemetry,
)
STATUS = KindSpec(
    Kind.STATUS, Status, "Agent online/offline (retained; the MQTT last will)",
    seen=lambda m: (0, 0, 0, "online" if m.online else "offline", ""),
    seen_stored=lambda p: (0, 0, 0, "online" if p.get("online") else "offline", ""),
    telemetry=lambda m: Telemetry({}, {"online": int(m.online)}),
)
HEARTBEAT = KindSpec(
    Kind.HEARTBEAT, Heartbeat, "Agent heartbeat with outbox depth and clock offset; also the answer to a time check",
    # An answer to a time check: state `answer`, ref the time the cloud asked (RFC 3339), for cloud.rules.clock_check.
    seen=lambda m: NOTHING if m.asked is None else (0, 0, 0, ANSWER, m.asked.isoformat()),
    seen_stored=lambda p: NOTHING if p.get("asked") is None else (0, 0, 0, ANSWER, str(p["asked"])),
    telemetry=_heartbeat_telemetry,
)

KINDS: dict[Kind, KindSpec[Any]] = {spec.kind: spec for spec in (FLOW, DOOR, FACE, CALL, HEALTH, STATUS, HEARTBEAT)}
BY_MODEL: dict[type[_Payload], KindSpec[Any]] = {spec.model: spec for spec in KINDS.values()}

# Every kind a station sends has its entry (commands go the other way and have their own table in codec.py).
_missing = sorted(set(Kind) - {Kind.COMMAND} - set(KINDS))
if _missing:
    raise RuntimeError(f"station_protocol.kinds: no entry for message kind(s) {', '.join(_missing)}")
