"""Protocol messages → InfluxDB points. Pure. The names here are the dashboards' contract (docs/cloud-ingest.md).

One measurement per message type; tags `station`, `town`, `grade`, `device` (plus `role` on face, `state` on door);
numeric fields only where a dashboard needs a number (servers such as VictoriaMetrics drop string fields).
Timestamps are the event's `ts` in milliseconds. Clock-faulted events are not written (their time is not believable).
"""

from typing import Any

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from cloud.convert import Accepted
from station_protocol import Call, Door, Face, Flow, Health, Heartbeat, Status


def _fields(message: Any) -> dict[str, int | float | str]:
    match message:
        case Flow():
            fields: dict[str, int | float | str] = {"in": message.in_, "out": message.out, "period_s": message.period_s}
            if message.counter_in is not None:
                fields["counter_in"] = message.counter_in
            if message.counter_out is not None:
                fields["counter_out"] = message.counter_out
            return fields
        case Door():
            return {"open": int(message.state == "open"), "fault": int(message.state == "fault")}
        case Face():
            return {"seen": 1, "distance": message.distance, "person": message.person}
        case Call():
            return {"pressed": int(message.action == "pressed"), "cancelled": int(message.action == "cancelled"),
                    "call": message.call}
        case Health():
            fields = {"ok": int(message.ok)}
            if message.error:
                fields["error"] = message.error
            return fields
        case Status():
            return {"online": int(message.online)}
        case Heartbeat():
            fields = {"uptime_s": message.uptime_s, "outbox": message.outbox}
            if message.clock_offset_ms is not None:
                fields["clock_offset_ms"] = message.clock_offset_ms
            return fields
    raise TypeError(f"no telemetry for {type(message).__name__}")


def to_point(item: Accepted) -> Point | None:
    """The point for a stored message, or None for a clock-faulted one."""
    if item.decoded.clock_fault is not None:
        return None
    message = item.decoded.message
    point = Point(item.kind.value)  # type: ignore[no-untyped-call]
    for key, value in (("station", item.station.id), ("town", item.station.town), ("grade", item.station.grade),
                       ("device", item.device)):
        point.tag(key, value)  # type: ignore[no-untyped-call]
    point.time(item.ts, WritePrecision.MS)  # type: ignore[no-untyped-call]
    if isinstance(message, Face):
        point.tag("role", message.role)  # type: ignore[no-untyped-call]
    elif isinstance(message, Door):
        point.tag("state", message.state)  # type: ignore[no-untyped-call]
    for name, number in _fields(message).items():
        point.field(name, number)  # type: ignore[no-untyped-call]
    return point
