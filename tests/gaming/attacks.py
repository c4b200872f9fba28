"""Message streams of a station trying to game its verdict, built on the honest `StationDay` streams: replays of
old messages, readings re-sent under fresh ids, a clock set ahead, another station's name in the payload."""

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from station_protocol import Door, Face, Flow, Heartbeat, encode
from station_protocol.topics import agent_topic, device_topic
from tests.rules.scenario import TZ, StationDay, visits_every

Message = tuple[str, bytes]
FULL = [(time(8, 25), time(11, 35)), (time(13, 25), time(17, 5))]  # the door open a little before and after hours
ELDERS = [f"e-{i:03d}" for i in range(1, 9)]


def visits(day: date) -> list[tuple[time, str, str]]:
    """An elder through the door every 10 minutes of both sessions."""
    return (visits_every(time(8, 40), time(11, 20), 10, ELDERS, day=day)
            + visits_every(time(13, 40), time(16, 50), 10, ELDERS, day=day))


def open_day(station: str, day: date) -> list[Message]:
    """An honest open day: door open through both sessions, elders coming in all day, counter and camera on."""
    return StationDay(station, day, door=FULL, visits=visits(day)).messages()


def shut_day(station: str, day: date, **kwargs: Any) -> list[Message]:
    """A shut day with the agent running: heartbeats (every 5 minutes unless told), nothing else."""
    return StationDay(station, day, **kwargs).messages()


def _edit(payload: bytes, **changes: Any) -> bytes:
    data = json.loads(payload)
    data.update(changes)
    return json.dumps(data).encode()


def shifted(messages: list[Message], by: timedelta) -> list[Message]:
    """The same messages, ids kept, every timestamp moved by `by` (yesterday's day replayed as today's)."""
    out = []
    for topic, payload in messages:
        ts = datetime.fromisoformat(json.loads(payload)["ts"]) + by
        out.append((topic, _edit(payload, ts=ts.isoformat())))
    return out


def fresh_ids(messages: list[Message], kinds: tuple[str, ...] = ("flow", "face")) -> list[Message]:
    """The readings of `kinds` published again under new event ids, everything else (seq, ts, values) the same."""
    return [(topic, _edit(payload, id=str(uuid.uuid4()))) for topic, payload in messages
            if topic.rsplit("/", 1)[1] in kinds]


def as_station(messages: list[Message], claimed: str) -> list[Message]:
    """The messages on their own topics, but the payloads claiming to be `claimed`."""
    return [(topic, _edit(payload, station=claimed)) for topic, payload in messages]


def photographs(station: str, day: date, at: time, elders: list[str], crossings: int) -> list[Message]:
    """Enrolled elders' photographs held up to the camera a few seconds apart, while the counter counts
    `crossings` people walking in during that minute (and zero the minutes around it)."""
    start = datetime.combine(day, at, TZ)
    out: list[Message] = []
    for i, person in enumerate(elders):
        face = Face(v=1, id=uuid.uuid4(), station=station, device="cam-1", seq=10_000 + i,
                    ts=start + timedelta(seconds=3 * i), person=person, role="elder", distance=0.3)
        out.append((str(device_topic(station, "cam-1", "face")), encode(face)))
    for minute in range(-3, 4):
        flow = Flow.model_validate({"v": 1, "id": uuid.uuid4(), "station": station, "device": "counter-1",
                                    "seq": 10_000 + minute + 3, "ts": start + timedelta(minutes=minute + 1),
                                    "period_s": 60, "in": crossings if minute == 0 else 0, "out": 0})
        out.append((str(device_topic(station, "counter-1", "flow")), encode(flow)))
    return out


def button_games(day: date, presses: int) -> list[tuple[time, str, str]]:
    """The emergency button pressed and cancelled twenty seconds later, every quarter of an hour from 08:30."""
    out = []
    for i in range(presses):
        minutes = 8 * 60 + 30 + 15 * i
        out += [(time(minutes // 60, minutes % 60), f"test-{i}", "pressed"),
                (time(minutes // 60, minutes % 60, 20), f"test-{i}", "cancelled")]
    return out


def heartbeat_flood(station: str, day: date, start: time, hours: int, every_s: int = 10) -> list[Message]:
    """Heartbeats every `every_s` seconds for `hours` hours and nothing else."""
    first = datetime.combine(day, start, TZ)
    return [(str(agent_topic(station, "heartbeat")),
             encode(Heartbeat(v=1, station=station, ts=first + timedelta(seconds=every_s * i), version="1.0",
                              uptime_s=float(i), outbox=0)))
            for i in range(hours * 3600 // every_s)]


def answers(station: str, asked: list[datetime], behind: timedelta = timedelta(0),
            delay: timedelta = timedelta(seconds=1)) -> list[Message]:
    """The agent's answers to the cloud's time checks asked at `asked`: each a heartbeat stamped by the Pi's clock
    (`behind` the real time) when the check arrived `delay` after it was asked, carrying the check's time."""
    out = []
    for i, at in enumerate(asked):
        beat = Heartbeat(v=1, station=station, ts=at + delay - behind, version="1.0", uptime_s=1.0, outbox=0,
                         check=f"check-{i}", asked=at)
        out.append((str(agent_topic(station, "heartbeat")), encode(beat)))
    return out


def checks_every(day: date, minutes: int, start: time = time(0), end: time = time(23, 59)) -> list[datetime]:
    """When the cloud asks: every `minutes` from `start` to `end` of `day` (Shanghai)."""
    t, stop = datetime.combine(day, start, TZ), datetime.combine(day, end, TZ)
    out = []
    while t <= stop:
        out.append(t)
        t += timedelta(minutes=minutes)
    return out


def ts_of(message: Message) -> datetime:
    return datetime.fromisoformat(json.loads(message[1])["ts"])


def received(messages: list[Message], when: Callable[[datetime], datetime]) -> list[str]:
    """`cloud derive` event lines with the time the cloud received each message (`when(ts)`)."""
    return [json.dumps({"topic": topic, "payload": json.loads(payload),
                        "received_at": when(ts_of((topic, payload))).isoformat()}) for topic, payload in messages]


def door_open_all_day(station: str, day: date, seq_from: int = 1000) -> list[Message]:
    """The door magnet's "open" at 08:25 and "closed" at 17:05, with no other trace (a shut day being filled in)."""
    out = []
    for i, (at, state) in enumerate(((time(8, 25), "open"), (time(17, 5), "closed"))):
        door = Door.model_validate({"v": 1, "id": uuid.uuid4(), "station": station, "device": "door-1",
                                    "seq": seq_from + i, "state": state, "ts": datetime.combine(day, at, TZ)})
        out.append((str(device_topic(station, "door-1", "door")), encode(door)))
    return out
