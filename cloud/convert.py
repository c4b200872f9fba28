"""One MQTT message → a row to store, or a rejection with its reason. Pure: no I/O, the station lookup is injected."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from station_protocol import Call, Decoded, Event, Health, Kind, ProtocolError, Status, decode, encode, parse_topic
from station_protocol.codec import EVENT_MODELS

Category = Literal["invalid", "unknown_station", "spoofed", "store_refused"]

# Status and heartbeat carry no id in protocol v1: a UUIDv5 of (station, type, ts) makes their replays idempotent too.
AGENT_NAMESPACE = uuid.UUID("6f1d3c36-7a51-4c53-9d0c-5a3ad2f0e1a1")


@dataclass(frozen=True, slots=True)
class StationInfo:
    """What ingest needs to know about a registered station."""

    id: str
    town: str
    grade: str | None  # None: a care centre or neighbourhood point (no grade)
    timezone: ZoneInfo
    kind: str = "station"  # station, care_centre or neighbourhood_point (firmware_config.kind)


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs a microsecond per message; nothing mutates it
class Accepted:
    """A valid message of a registered station, ready to store."""

    decoded: Decoded
    station: StationInfo
    row: dict[str, Any]  # the `events` row, less the payload
    local_date: date
    payload_text: str  # the validated message re-encoded: only fields the protocol defines
    dropped: int = 0  # unknown extra fields the message carried, left out of payload_text

    @property
    def kind(self) -> Kind:
        return self.decoded.topic.kind

    @property
    def device(self) -> str:
        return self.decoded.topic.device

    @property
    def ts(self) -> datetime:
        """The event's time as the station sent it, with its own UTC offset (the row holds it in UTC)."""
        ts: datetime = self.decoded.message.ts
        return ts

    @property
    def pressed_call(self) -> str | None:
        """The call id when this is an emergency button press (the fast path raises an alert)."""
        message = self.decoded.message
        # type() rather than isinstance(): a pydantic model's metaclass makes a failing isinstance() cost µs.
        return message.call if type(message) is Call and message.action == "pressed" else None


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that goes to the dead letters."""

    category: Category
    reason: str
    station_id: str | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """A message ingest does not store (valid commands, which the cloud itself sends to stations)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Deferred:
    """A message whose station could not be looked up (the registry's database is away): not the message's fault, so
    it is neither stored nor dead-lettered nor acknowledged until the lookup works."""

    reason: str


class LookupFailed(RuntimeError):
    """The station lookup itself failed (database error, unreadable registry)."""


Converted = Accepted | Rejected | Ignored
Outcome = Converted | Deferred


def sent_at(message: object) -> datetime | None:
    """When the agent published `message`, if it says so: device events have a validated `sent`; a heartbeat kept
    through an outage goes out of the agent's outbox with `sent` stamped on too, which its model (no such field)
    keeps as unvalidated text, so only a time is taken."""
    sent = getattr(message, "sent", None)
    return sent if isinstance(sent, datetime) else None


def convert(
    topic: str,
    payload: bytes,
    received_at: datetime,
    lookup: Callable[[str], StationInfo | None],
) -> Converted:
    """Validate `payload` on `topic` (protocol v1, registered station, no spoofing) and build its `events` row.

    Raises LookupFailed when `lookup` fails: the caller keeps the message unacknowledged and tries again later."""
    try:
        parsed = parse_topic(topic)
    except ProtocolError as exc:
        return Rejected("invalid", str(exc))
    if parsed.kind is Kind.COMMAND:
        # The cloud's own commands, heard on the shared subscription, are not stored; anything else on a `cmd/` topic
        # (a name the protocol has no command for, such as `cmd/flow`, or a payload no command takes) is invalid.
        try:
            decode(parsed, payload, now=received_at)
        except ProtocolError as exc:
            return Rejected("invalid", str(exc), parsed.station)
        return Ignored("command to a station")
    try:
        station = lookup(parsed.station)
    except Exception as exc:  # whatever the lookup's trouble, it says nothing about the message
        raise LookupFailed(f"station lookup failed: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from exc
    if station is None:
        return Rejected("unknown_station", f"unknown station {parsed.station!r}: not in the registry "
                        "(eldercare cloud stations import)", parsed.station)
    try:
        decoded = decode(parsed, payload, now=received_at)
    except ProtocolError as exc:
        spoofed = any(" but the topic is for " in problem for problem in exc.problems)
        return Rejected("spoofed" if spoofed else "invalid", str(exc), parsed.station)
    message = decoded.message
    sent_ts: datetime = message.ts  # every station → cloud message has ts
    # The row's time in UTC, as decode() converted it once: compared, formatted and converted from here on without
    # asking the parser's timezone again (only a time at the calendar's edge has none and stays as sent).
    ts = decoded.utc or sent_ts
    if type(message) in EVENT_MODELS:  # decode() returns exactly its model (see EVENT_MODELS)
        event = cast(Event, message)
        event_id, seq = event.id, event.seq
    else:
        event_id, seq = uuid.uuid5(AGENT_NAMESPACE, f"{parsed.station}/{parsed.kind}/{sent_ts.isoformat()}"), None
    try:
        if decoded.utc is None:  # a time that has no UTC instant on the calendar (year 1 at +08:00)
            raise OverflowError
        local_date = ts.astimezone(station.timezone).date()  # overflows for year 9999 in a zone ahead of UTC
    except OverflowError:
        # A clock fault like any other, but no day or instant can hold it: a dead letter with the same reason.
        fault = decoded.clock_fault or f"ts {sent_ts.isoformat()} is at the edge of the calendar"
        return Rejected("invalid", f"{fault}: too far from any real time to be stored", parsed.station)
    row = {
        "id": event_id,
        "ts": ts,
        "station_id": parsed.station,
        "device_id": parsed.device,
        "kind": parsed.kind._value_,  # the plain string; `.value` is a property lookup on every call
        "local_date": local_date,
        "seq": seq,
        "received_at": received_at,
        "clock_fault": decoded.clock_fault,
    }
    # Stored re-encoded from the validated message, never as published: a field the protocol does not define (a
    # vendor's image or face encoding on a face event) is dropped here, before anything is written, and counted.
    extra = message.model_extra
    return Accepted(decoded=decoded, station=station, row=row, local_date=local_date,
                    payload_text=encode(message).decode(), dropped=len(extra) if extra else 0)


HEALTH_TYPES = frozenset({Health, Status})
HEALTH_KIND = "health"


@dataclass(slots=True)
class DeviceSeen:
    """What one batch says about one device: folded in memory, then one upsert per device."""

    station_id: str
    device_id: str
    kind: str
    last_seen_at: datetime | None = None  # set by the first add()
    health_ok: bool | None = None
    health: dict[str, Any] | None = None
    health_at: datetime | None = None
    online: bool | None = None

    def add(self, item: Accepted) -> None:
        decoded, row = item.decoded, item.row
        message, ts = decoded.message, row["ts"]
        # A device's kind is what it measures (flow, door, ...): its health reports do not make it a "health" device.
        if decoded.topic.device == "agent":
            self.kind = "agent"
        elif row["kind"] != HEALTH_KIND or self.kind == HEALTH_KIND:
            self.kind = row["kind"]
        # A faulty clock's ts is not believable: the receive time says when the device last spoke.
        seen: datetime = ts if decoded.clock_fault is None else row["received_at"]
        if self.last_seen_at is None or seen > self.last_seen_at:
            self.last_seen_at = seen
        if type(message) not in HEALTH_TYPES or (self.health_at is not None and ts <= self.health_at):
            return
        self.health_at = ts
        if isinstance(message, Health):
            self.health_ok = message.ok
            self.health = {"ok": message.ok, "error": message.error, "detail": message.detail}
        else:
            status = cast(Status, message)
            self.health_ok = self.online = status.online
            self.health = {"online": status.online}


def fold_devices(items: list[Accepted]) -> list[DeviceSeen]:
    """One DeviceSeen per (station, device) in the batch."""
    seen: dict[tuple[str, str], DeviceSeen] = {}
    for item in items:
        station, device = item.row["station_id"], item.decoded.topic.device
        entry = seen.get((station, device))
        if entry is None:
            entry = seen[station, device] = DeviceSeen(station, device, item.row["kind"])
        entry.add(item)
    return list(seen.values())
