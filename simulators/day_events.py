"""Protocol events (topic + payload) of a station's simulated day, generated from its ground truth. Pure.

What each device would have reported: every counter's flow per interval (whole day, zeros included), the main door's
open/close, one face observation per person per visit, the call button's press/cancel, and each device's health at
midnight. Ids are UUIDv7 built from the event time and the seed, so the same day gives the same ids (replays are
idempotent at the cloud); `seq` grows across days (day number * 100000 + n).
"""

import hashlib
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from firmware_config.station import StationConfig
from simulators.scenario import DEFAULT_SCHEDULE, GroundTruth
from station_protocol import Call, Door, Event, Face, Flow, Health, encode
from station_protocol.topics import device_topic

EPOCH = date(2020, 1, 1)


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One message as the station would publish it, and when."""

    at: datetime
    topic: str
    payload: bytes


def uuid7_at(when: datetime, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 for time `when` with random bits from `rng` (deterministic)."""
    value = (int(when.timestamp() * 1000) & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)
    return uuid.UUID(int=value)


def anonymous_id(person: str, station: str) -> str:
    """What the camera reports for a face it does not know: an id that cannot be turned back into a face."""
    return "anon-" + hashlib.sha256(f"{station}/{person}".encode()).hexdigest()[:12]


def _raw(truth: GroundTruth, config: StationConfig) -> list[tuple[datetime, str, str, dict[str, Any]]]:
    """(ts, device, kind, fields) of the whole day, unsorted."""
    zone = ZoneInfo((config.schedule or DEFAULT_SCHEDULE).timezone)
    midnight = datetime.combine(truth.day, datetime.min.time(), zone)
    out: list[tuple[datetime, str, str, dict[str, Any]]] = []
    by_type: dict[str, list[Any]] = defaultdict(list)
    for device in config.devices:
        by_type[device.type].append(device)
        out.append((midnight, device.id, "health", {"ok": True}))
    doors = by_type["door"]
    for index, door in enumerate(doors):
        out.append((midnight + timedelta(seconds=1), door.id, "door", {"state": "closed"}))
        if index == 0:
            for opened, closed in truth.open_intervals:
                out.append((opened, door.id, "door", {"state": "open"}))
                out.append((closed, door.id, "door", {"state": "closed"}))
    counters = by_type["counter"]
    if counters:
        rng = random.Random(f"{truth.station}/{truth.day}/entrances")
        moves: list[tuple[datetime, int, str]] = []  # (when, which counter, "in"/"out")
        for visit in truth.visits:
            entrance = 0 if len(counters) == 1 or rng.random() < 0.8 else rng.randrange(1, len(counters))
            moves += [(visit.arrive, entrance, "in"), (visit.leave, entrance, "out")]
        for index, counter in enumerate(counters):
            period = max(1, round(counter.interval_s))
            mine = sorted(m for m in moves if m[1] == index)
            total = {"in": 0, "out": 0}
            end = midnight + timedelta(seconds=period)
            while end.date() == truth.day or end == midnight + timedelta(days=1):
                delta = {"in": 0, "out": 0}
                while mine and mine[0][0] < end:
                    delta[mine.pop(0)[2]] += 1
                total = {k: total[k] + delta[k] for k in total}
                out.append((end, counter.id, "flow", {"period_s": period, "in": delta["in"], "out": delta["out"],
                                                      "counter_in": total["in"], "counter_out": total["out"]}))
                if end == midnight + timedelta(days=1):
                    break
                end += timedelta(seconds=period)
    for camera in by_type["camera"]:
        rng = random.Random(f"{truth.station}/{truth.day}/faces")
        for visit in truth.visits:
            person = visit.person if visit.enrolled else anonymous_id(visit.person, truth.station)
            role = visit.role if visit.enrolled else "unknown"
            seen = visit.arrive + timedelta(seconds=rng.randint(2, 20))
            # Distances as the camera's default face model (SFace, tolerance 1.05) gives a recognised face.
            out.append((seen, camera.id, "face", {"person": person, "role": role,
                                                  "distance": round(rng.uniform(0.6, 1.0), 3)}))
    for button in by_type["button"][:1]:
        for press in truth.presses:
            out.append((press.at, button.id, "call", {"action": "pressed", "call": press.call}))
            if press.cancelled_at is not None:
                out.append((press.cancelled_at, button.id, "call", {"action": "cancelled", "call": press.call}))
    return out


_MODELS: dict[str, type[Event]] = {"flow": Flow, "door": Door, "face": Face, "call": Call, "health": Health}


def day_events(truth: GroundTruth, config: StationConfig, seed: int = 0) -> Iterator[SimEvent]:
    """The day's protocol events in time order."""
    rng = random.Random(f"{truth.station}/{truth.day}/{seed}/ids")
    seqs: dict[str, int] = defaultdict(lambda: (truth.day - EPOCH).days * 100_000)
    for ts, device, kind, fields in sorted(_raw(truth, config), key=lambda e: (e[0], e[1], e[2])):
        seq = seqs[device]
        seqs[device] += 1
        model = _MODELS[kind].model_validate({"v": 1, "id": uuid7_at(ts, rng), "station": truth.station,
                                              "device": device, "seq": seq, "ts": ts, **fields})
        yield SimEvent(ts, str(device_topic(truth.station, device, kind)), encode(model))


def station_day(config: StationConfig, day: date, seed: int = 0) -> tuple[GroundTruth, list[SimEvent]]:
    """Ground truth and protocol events of one simulated day (pure)."""
    from simulators.scenario import plan_day

    truth = plan_day(config, day, seed)
    return truth, list(day_events(truth, config, seed))
