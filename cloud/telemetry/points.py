"""Protocol messages → InfluxDB points. Pure. The names here are the dashboards' contract (docs/cloud-ingest.md).

One measurement per message type; tags `station`, `town`, `kind` (of site), `grade`, `device`, plus each message
kind's own tags and fields from its entry in `station_protocol.kinds` (`role` on face, `state` on door); numeric
fields only where a dashboard needs a number (servers such as VictoriaMetrics drop string fields).
Timestamps are the event's `ts` in milliseconds. Clock-faulted events are not written (their time is not believable).
"""

from influxdb_client.client.write.point import Point
from influxdb_client.domain.write_precision import WritePrecision

from cloud.convert import Accepted
from station_protocol.kinds import KINDS


def to_point(item: Accepted) -> Point | None:
    """The point for a stored message, or None for a clock-faulted one."""
    if item.decoded.clock_fault is not None:
        return None
    message = item.decoded.message
    point = Point(item.kind.value)  # type: ignore[no-untyped-call]
    for key, value in (("station", item.station.id), ("town", item.station.town), ("kind", item.station.kind),
                       ("grade", item.station.grade), ("device", item.device)):
        if value is not None:  # a site with no grade has no grade tag
            point.tag(key, value)  # type: ignore[no-untyped-call]
    point.time(item.ts, WritePrecision.MS)  # type: ignore[no-untyped-call]
    tags, fields = KINDS[item.kind].telemetry(message)
    for key, value in tags.items():
        point.tag(key, value)  # type: ignore[no-untyped-call]
    for name, number in fields.items():
        point.field(name, number)  # type: ignore[no-untyped-call]
    return point
