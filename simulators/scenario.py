"""A station's day as it really happened: the ground truth that a simulated day's events are generated from.

Pure: the same station, date and seed give the same day. Staff arrive first and open the door (sometimes late),
elders arrive and leave in the sessions, some come back after the lunch break, one emergency button press (sometimes
cancelled by a long press). `plan_day` returns the truth; `simulators.day_events` turns it into protocol events, and
the cloud's derivation tests compare what they derive from those events with this record.
"""

import random
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from firmware_config.schedule import Schedule
from firmware_config.station import StationConfig

DEFAULT_SCHEDULE = Schedule(weekdays=frozenset(range(1, 6)), hours=((time(8, 30), time(11, 30)),
                                                                     (time(13, 30), time(17, 0))))
# Distinct elders a station of each grade serves in a month (the pool) and on a day (the range), from the grades'
# monthly thresholds (2A >= 50, 3A >= 100, 4A >= 300).
POOL = {"2A": 60, "3A": 120, "4A": 330, "5A": 360}
DAILY = {"2A": (8, 16), "3A": (15, 30), "4A": (35, 60), "5A": (45, 70)}


@dataclass(frozen=True)
class Visit:
    """One person in the station from `arrive` to `leave`; `enrolled` false = a face the camera does not know."""

    person: str
    role: str
    arrive: datetime
    leave: datetime
    enrolled: bool = True


@dataclass(frozen=True)
class Press:
    """An emergency button press; `cancelled_at` when a long press cancelled it."""

    call: str
    at: datetime
    cancelled_at: datetime | None = None


@dataclass
class GroundTruth:
    """What really happened at one station on one day (local times, with offsets)."""

    station: str
    day: date
    working_day: bool
    scheduled: list[tuple[datetime, datetime]] = field(default_factory=list)
    open_intervals: list[tuple[datetime, datetime]] = field(default_factory=list)
    late_opening_min: int = 0
    lunch_break: tuple[datetime, datetime] | None = None
    visits: list[Visit] = field(default_factory=list)
    presses: list[Press] = field(default_factory=list)

    @property
    def elders(self) -> set[str]:
        """Distinct elders served (enrolled or not)."""
        return {v.person for v in self.visits if v.role == "elder"}

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable record (ISO 8601 strings)."""
        def plain(value: Any) -> Any:
            if isinstance(value, datetime | date):
                return value.isoformat()
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

        data = plain(asdict(self))
        data["elders_served"] = len(self.elders)
        data["person_times"] = sum(1 for v in self.visits if v.role == "elder")
        return data  # type: ignore[no-any-return]


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, zone)


def plan_day(config: StationConfig, day: date, seed: int = 0) -> GroundTruth:
    """The day at `config`'s station: pure in (config, day, seed)."""
    rng = random.Random(f"{config.station}/{day.isoformat()}/{seed}")
    schedule = config.schedule or DEFAULT_SCHEDULE
    zone = ZoneInfo(schedule.timezone)
    truth = GroundTruth(station=config.station, day=day, working_day=day.isoweekday() in schedule.weekdays)
    if not truth.working_day:
        return truth
    truth.scheduled = [(_at(day, s, zone), _at(day, e, zone)) for s, e in schedule.hours]
    if len(truth.scheduled) > 1:
        truth.lunch_break = (truth.scheduled[0][1], truth.scheduled[1][0])
    late = rng.randint(10, 40) if rng.random() < 0.3 else 0
    truth.late_opening_min = late
    staff = [f"staff-{i}" for i in range(1, rng.randint(1, 2) + 1)]
    for index, (start, end) in enumerate(truth.scheduled):
        opened = start + timedelta(minutes=late if index == 0 else rng.randint(0, 5))
        closed = end + timedelta(minutes=rng.randint(0, 10))
        truth.open_intervals.append((opened, closed))
        for person in staff:  # staff come first and leave last
            arrive = opened - timedelta(minutes=rng.randint(1, 10))
            truth.visits.append(Visit(person, "staff", arrive, closed + timedelta(minutes=rng.randint(1, 5))))
    size = config.grade or "2A"  # a care centre or neighbourhood point (no grade) draws as few elders as a 2A
    grade_pool, (low, high) = POOL[size], DAILY[size]
    elders = rng.sample([f"elder-{i:03d}" for i in range(1, grade_pool + 1)], rng.randint(low, high))
    for person in elders:
        enrolled = rng.random() > 0.1
        sessions = list(enumerate(truth.open_intervals))
        index, (opened, closed) = rng.choice(sessions)
        truth.visits.append(_visit(rng, person, opened, closed, enrolled))
        if index + 1 < len(sessions) and rng.random() < 0.25:  # back after the lunch break
            truth.visits.append(_visit(rng, person, *sessions[index + 1][1], enrolled))
    truth.visits.sort(key=lambda v: (v.arrive, v.person))
    opened, closed = rng.choice(truth.open_intervals)
    pressed = opened + (closed - opened) * rng.uniform(0.1, 0.9)
    cancelled = pressed + timedelta(seconds=rng.uniform(3, 6)) if rng.random() < 0.3 else None
    truth.presses.append(Press(f"sim-{config.station}-{day:%Y%m%d}-1", pressed.replace(microsecond=0), cancelled))
    return truth


def _visit(rng: random.Random, person: str, opened: datetime, closed: datetime, enrolled: bool) -> Visit:
    span = (closed - opened).total_seconds()
    arrive = opened + timedelta(seconds=rng.uniform(0, span * 0.8))
    stay = timedelta(minutes=rng.uniform(20, 120))
    return Visit(person, "elder", arrive.replace(microsecond=0), min(arrive + stay, closed).replace(microsecond=0),
                 enrolled)
