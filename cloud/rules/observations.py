"""The compact, typed form of a stored or decoded protocol message that the rules work on.

Both the worker (rows of the events table) and `cloud derive` (decoded JSON lines) convert to `Obs`, so the rules
see one shape whatever the source. Messages with a clock fault are not converted: they count nowhere.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from station_protocol import Event, Heartbeat, Message
from station_protocol.kinds import BY_MODEL, KINDS


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
    lag: float = 0.0  # seconds from `t` to the cloud's receipt of it (0 when not known): see cloud.rules.late
    via: str = ""  # the ingester that received it ("" when not known): see cloud.rules.late
    seq: int | None = None  # the device's sequence number (None for status and heartbeat): see cloud.rules.sequence
    check: str = ""  # the id of the time check a heartbeat answers ("" for any other message): see clock_check
    # A heartbeat's boot id and seconds since that boot, when its clock was trusted ("" otherwise, and for any other
    # message or an older agent's heartbeat): see cloud.rules.clock_steps
    boot: str = ""
    boot_s: float = 0.0


# The worker converts every stored event: one lookup by kind name.
_FROM_STORED = {kind.value: spec.seen_stored for kind, spec in KINDS.items()}


def sort_key(o: Obs) -> tuple[float, str]:
    """Total order independent of arrival: time, then event id."""
    return (o.t, o.id)


def _lag(ts: datetime, received_at: datetime | None) -> float:
    return max(0.0, (received_at - ts).total_seconds()) if received_at is not None else 0.0


def from_message(message: Message, event_id: str, received_at: datetime | None = None,
                 received_by: str | None = None) -> Obs | None:
    """An Obs from a decoded protocol message (commands are not observations); `received_at`: when the cloud
    received it, if known, and `received_by`: which ingester."""
    spec = BY_MODEL.get(type(message))
    if spec is None:
        return None
    device, seq = (message.device, message.seq) if isinstance(message, Event) else ("agent", None)
    check = (message.check or "") if isinstance(message, Heartbeat) else ""
    boot, boot_s = ("", 0.0)
    if isinstance(message, Heartbeat) and message.boot is not None and message.boot_s is not None \
            and message.clock is None:
        boot, boot_s = str(message.boot), message.boot_s
    return Obs(message.ts.timestamp(), spec.kind.value, device, event_id, *spec.seen(message),
               _lag(message.ts, received_at), received_by or "", seq, check, boot, boot_s)


def from_row(ts: datetime, kind: str, device: str, event_id: str, payload: Mapping[str, Any],
             received_at: datetime | None = None, received_by: str | None = None) -> Obs:
    """An Obs from a stored event (payload as published and validated by ingest) received at `received_at` by the
    ingester `received_by`."""
    return from_stored(ts.timestamp(), _lag(ts, received_at), kind, device, event_id, payload, received_by)


def from_stored(t: float, lag: float, kind: str, device: str, event_id: str, payload: Mapping[str, Any],
                received_by: str | None) -> Obs:
    """`from_row` with the event's time as epoch seconds and its lag already worked out: the worker converts every
    event it loads with this, so it reads the payload once and builds the tuple once."""
    seq = payload.get("seq")
    if not isinstance(seq, int):
        seq = None
    seen = _FROM_STORED.get(kind)
    if seen is None:
        return Obs(t, kind, device, event_id, lag=lag, via=received_by or "", seq=seq)
    if kind == "heartbeat":
        check = payload.get("check")
        boot, boot_s = _boot(payload)
        return Obs(t, kind, device, event_id, *seen(payload), lag, received_by or "", seq,
                   check if isinstance(check, str) else "", boot, boot_s)
    return Obs(t, kind, "agent" if kind == "status" else device, event_id, *seen(payload), lag, received_by or "", seq)


def _boot(payload: Mapping[str, Any]) -> tuple[str, float]:
    """A stored heartbeat's boot id and seconds since boot, or ("", 0.0) without them or when its clock was not
    trusted (`clock: unsynced`): cloud.rules.clock_steps compares only trusted heartbeats."""
    boot, boot_s = payload.get("boot"), payload.get("boot_s")
    if payload.get("clock") is not None or not isinstance(boot, str) or isinstance(boot_s, bool) \
            or not isinstance(boot_s, (int, float)):
        return "", 0.0
    return boot, float(boot_s)


def distinct_readings(obs: Sequence[Obs]) -> tuple[list[Obs], list[Obs]]:
    """`obs` (sorted by `sort_key`) with each reading once, and the repeats left out: a reading published again under
    a new event id (a replay tool, a doctored agent) must not count twice. A repeat is identical but for its id (and
    when it arrived): the same device, time and values (two faces in one frame differ by person). The first by
    `sort_key` is kept. Repeats share their time, so each is only compared with what was kept at that time."""
    times = [o.t for o in obs]
    if len(set(times)) == len(times):
        return list(obs), []  # no two at one time: nothing to compare (the common case)
    kept: list[Obs] = []
    repeats: list[Obs] = []
    t: float | None = None
    start = 0  # where the readings kept at time `t` begin in `kept`
    for o in obs:
        if o.t != t:
            t, start = o.t, len(kept)
        elif o.kind not in _NO_COUNT:
            what = o[1:3] + o[4:9]  # all but time, id and lag
            if any(kept[i][1:3] + kept[i][4:9] == what for i in range(start, len(kept))):
                repeats.append(o)
                continue
        kept.append(o)
    return kept, repeats


# Carry no count (and status and heartbeat ids already follow from their time).
_NO_COUNT = frozenset(("status", "heartbeat", "health"))

