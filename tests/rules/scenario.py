"""Station-day event streams with known ground truth, for rule, CLI and worker tests.

Each `StationDay` says when the door opened and closed, when people came, when the agent was offline; `messages()`
turns it into protocol v1 messages (topic, payload) exactly as an agent publishes them.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from station_protocol import Call, Door, Face, Flow, Heartbeat, Status, encode
from station_protocol.topics import agent_topic, device_topic

TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class StationDay:
    station: str
    day: date
    door: list[tuple[time, time]] = field(default_factory=list)  # door open spans
    visits: list[tuple[time, str, str]] = field(default_factory=list)  # (when, person, role) through the door
    offline: list[tuple[time, time]] = field(default_factory=list)  # agent away: last will, nothing, back online
    calls: list[tuple[time, str, str]] = field(default_factory=list)  # (when, call id, "pressed"/"cancelled")
    exits: list[tuple[time, int]] = field(default_factory=list)  # (when, how many) counted out
    heartbeat_minutes: int = 5
    flow_period_s: int = 60
    counter: bool = True
    camera: bool = True
    _seq: dict[str, int] = field(default_factory=dict)

    def at(self, t: time) -> datetime:
        return datetime.combine(self.day, t, TZ)

    def _offline(self, when: datetime) -> bool:
        return any(self.at(s) <= when < self.at(e) for s, e in self.offline)

    def _next(self, device: str) -> int:
        self._seq[device] = self._seq.get(device, -1) + 1
        return self._seq[device]

    def _common(self, device: str, ts: datetime) -> dict[str, object]:
        return {"v": 1, "id": uuid.uuid4(), "station": self.station, "device": device,
                "seq": self._next(device), "ts": ts}

    def messages(self) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = []
        start = self.at(time(0))
        # Heartbeats all day long, except while the agent is away.
        t = start
        while t < start + timedelta(days=1):
            if not self._offline(t):
                hb = Heartbeat(v=1, station=self.station, ts=t, version="1.0", uptime_s=1.0, outbox=0)
                out.append((str(agent_topic(self.station, "heartbeat")), encode(hb)))
            t += timedelta(minutes=self.heartbeat_minutes)
        for s, e in self.offline:
            out.append((str(agent_topic(self.station, "status")),
                        encode(Status(v=1, station=self.station, online=False, ts=self.at(s)))))
            out.append((str(agent_topic(self.station, "status")),
                        encode(Status(v=1, station=self.station, online=True, ts=self.at(e)))))
        for s, e in self.door:
            for moment, state in ((self.at(s), "open"), (self.at(e), "closed")):
                if not self._offline(moment):
                    door = Door.model_validate({**self._common("door-1", moment), "state": state})
                    out.append((str(device_topic(self.station, "door-1", "door")), encode(door)))
        if self.counter:
            # A count every period while the door is open (zeros included), entries in the period they happened.
            entries: dict[datetime, int] = {}
            for clock, _person, _role in self.visits:
                end = self.at(clock).replace(second=0) + timedelta(seconds=self.flow_period_s)
                entries[end] = entries.get(end, 0) + 1
            leaving: dict[datetime, int] = {}
            for clock, n in self.exits:
                end = self.at(clock).replace(second=0) + timedelta(seconds=self.flow_period_s)
                leaving[end] = leaving.get(end, 0) + n
            ticks = set(entries) | set(leaving)
            for s, e in self.door:
                t = self.at(s).replace(second=0) + timedelta(seconds=self.flow_period_s)
                while t <= self.at(e):
                    ticks.add(t)
                    t += timedelta(seconds=self.flow_period_s)
            for t in sorted(ticks):
                if self._offline(t):
                    continue
                flow = Flow.model_validate({**self._common("counter-1", t), "period_s": self.flow_period_s,
                                            "in": entries.get(t, 0), "out": leaving.get(t, 0)})
                out.append((str(device_topic(self.station, "counter-1", "flow")), encode(flow)))
        if self.camera:
            for clock, person, role in self.visits:
                ts = self.at(clock) + timedelta(seconds=5)
                if self._offline(ts):
                    continue
                face = Face.model_validate({**self._common("cam-1", ts), "person": person, "role": role,
                                            "distance": 0.35})
                out.append((str(device_topic(self.station, "cam-1", "face")), encode(face)))
        for clock, call_id, action in self.calls:
            call = Call.model_validate({**self._common("button-1", self.at(clock)), "action": action, "call": call_id})
            out.append((str(device_topic(self.station, "button-1", "call")), encode(call)))
        return out


def visits_every(start: time, end: time, minutes: int, people: list[str], role: str = "elder",
                 day: date = date(2026, 10, 12)) -> list[tuple[time, str, str]]:
    """A visit every `minutes` between start and end, cycling through `people`."""
    out = []
    t = datetime.combine(day, start)
    i = 0
    while t.time() < end:
        out.append((t.time(), people[i % len(people)], role))
        t += timedelta(minutes=minutes)
        i += 1
    return out


STATION_CSV = (
    "station_id,name,town,grade,weekdays,hours,open_on_holidays\n"
    "qd-a,汇龙站,汇龙镇,2A,1-5,08:30-11:30 13:30-17:00,no\n"
    "qd-b,南阳站,南阳镇,3A,1-5,08:30-11:30 13:30-17:00,no\n"
)
