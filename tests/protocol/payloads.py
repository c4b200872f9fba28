"""Valid example payloads of every message type, for tests."""

from typing import Any

from station_protocol import new_event_id

STATION = "qd-huilong-01"
TS = "2026-10-12T08:31:05.120+08:00"


def event(device: str, **fields: Any) -> dict[str, Any]:
    return {"v": 1, "id": new_event_id(), "station": STATION, "device": device, "seq": 7, "ts": TS, **fields}


def examples() -> dict[str, dict[str, Any]]:
    """topic -> payload, one per message type."""
    root = f"eldercare/v1/{STATION}"
    return {
        f"{root}/counter-1/flow": event("counter-1", period_s=60, **{"in": 3}, out=1, counter_in=1003, counter_out=998),
        f"{root}/door-1/door": event("door-1", state="open"),
        f"{root}/cam-1/face": event("cam-1", person="anon-7f3a9c", role="unknown", distance=0.41),
        f"{root}/button-1/call": event("button-1", action="pressed", call="c-0001"),
        f"{root}/counter-1/health": event("counter-1", ok=False, error="timeout", detail={"unit": 1}),
        f"{root}/agent/status": {"v": 1, "station": STATION, "online": True, "ts": TS},
        f"{root}/agent/heartbeat": {
            "v": 1, "station": STATION, "ts": TS, "version": "0.1.0", "uptime_s": 61.5, "outbox": 0,
            "clock_offset_ms": -12.0,
        },
        f"{root}/cmd/call-ack": {"v": 1, "call": "c-0001", "by": "staff:wang", "ts": TS},
    }
