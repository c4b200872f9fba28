"""The compact, typed form of a stored or decoded protocol message that the rules work on.

Both the worker (rows of the events table) and `cloud derive` (decoded JSON lines) convert to `Obs`, so the rules
see one shape whatever the source. Messages with a clock fault are not converted: they count nowhere.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from station_protocol import Call, Door, Face, Flow, Health, Heartbeat, Message, Status


class Obs(NamedTuple):
    """One observation. `state`: door state, face role, call action or "online"/"offline"; `ref`: person or call id."""

    t: float  # epoch seconds, UTC
    kind: str  # flow, door, face, call, health, status, heartbeat
    device: str
    id: str  # event id (a stable tie-breaker for equal timestamps)
    entries: int = 0
    exits: int = 0
    period_s: int = 0
    state: str = ""
    ref: str = ""


def sort_key(o: Obs) -> tuple[float, str]:
    """Total order independent of arrival: time, then event id."""
    return (o.t, o.id)


def from_message(message: Message, event_id: str) -> Obs | None:
    """An Obs from a decoded protocol message (commands are not observations)."""
    match message:
        case Flow():
            return Obs(message.ts.timestamp(), "flow", message.device, event_id, message.in_, message.out,
                       message.period_s)
        case Door():
            return Obs(message.ts.timestamp(), "door", message.device, event_id, state=message.state)
        case Face():
            return Obs(message.ts.timestamp(), "face", message.device, event_id, state=message.role,
                       ref=message.person)
        case Call():
            return Obs(message.ts.timestamp(), "call", message.device, event_id, state=message.action,
                       ref=message.call)
        case Health():
            return Obs(message.ts.timestamp(), "health", message.device, event_id, state="ok" if message.ok else "bad")
        case Status():
            return Obs(message.ts.timestamp(), "status", "agent", event_id,
                       state="online" if message.online else "offline")
        case Heartbeat():
            return Obs(message.ts.timestamp(), "heartbeat", "agent", event_id)
    return None


def from_row(ts: datetime, kind: str, device: str, event_id: str, payload: Mapping[str, Any]) -> Obs:
    """An Obs from a stored event (payload as published and validated by ingest)."""
    t = ts.timestamp()
    match kind:
        case "flow":
            return Obs(t, kind, device, event_id, payload["in"], payload["out"], payload["period_s"])
        case "door":
            return Obs(t, kind, device, event_id, state=payload["state"])
        case "face":
            return Obs(t, kind, device, event_id, state=payload["role"], ref=payload["person"])
        case "call":
            return Obs(t, kind, device, event_id, state=payload["action"], ref=payload["call"])
        case "health":
            return Obs(t, kind, device, event_id, state="ok" if payload.get("ok") else "bad")
        case "status":
            return Obs(t, kind, "agent", event_id, state="online" if payload.get("online") else "offline")
    return Obs(t, kind, device, event_id)
