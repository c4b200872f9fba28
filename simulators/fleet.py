"""A simulated fleet of stations over a span of days, with the cases a bureau must see. Pure.

Thirty stations in three towns across all grades by default, generated from each station-day's ground truth
(`simulators.scenario`). From five stations up, the last two are a care centre (照料中心) and a neighbourhood point
(睦邻点): sites with no grade, whose monthly threshold, veto and subsidy read 不适用 (not applicable) while the
stations beside them are judged. The first three are graded stations that misbehave on purpose:
- `closed_on_checks`: closed all day on `check_days` — the days the demo's spot checks fall on (three: the veto);
- `below_threshold`: serves only a small circle of elders, under its grade's monthly threshold;
- `offline`: its agent goes silent `offline_hours` before the end (its last will says offline).
Emergency presses are left out of the history: the demo presses buttons live, where their alerts can be seen.
"""

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from firmware_config.grade import GRADES
from firmware_config.station import StationConfig
from simulators.day_events import SimEvent, day_events
from simulators.scenario import GroundTruth, plan_day
from station_protocol import Status, encode
from station_protocol.topics import agent_topic

TOWNS = (("huilong", "汇龙镇"), ("lvsi", "吕四港镇"), ("nanyang", "南阳镇"))
# What a site of each kind is called (its name ends so, as the bureau's spreadsheets name them).
NAMES = {"station": "居家养老服务站", "care_centre": "日间照料中心", "neighbourhood_point": "睦邻点"}
UNGRADED = ("care_centre", "neighbourhood_point")  # the fleet's last two sites, when it has room for them
UNGRADED_FROM = 5  # three problem cases, and stations judged beside the ungraded sites


@dataclass(frozen=True)
class Fleet:
    stations: list[StationConfig]
    closed_on_checks: str
    below_threshold: str
    offline: str
    check_days: list[date]
    offline_from: datetime
    care_centre: str | None = None
    neighbourhood_point: str | None = None


def station_config(index: int, grade: str | None, counter_interval_s: float = 900,
                   kind: str = "station") -> StationConfig:
    """A plausible site: counter, door, call button, and a face camera from 3A up and at the ungraded kinds (their
    elders served are reported like a station's)."""
    slug, town = TOWNS[index % len(TOWNS)]
    number = index // len(TOWNS) + 1
    devices: list[dict[str, Any]] = [
        {"type": "counter", "id": "flow-1", "port": "/dev/ttyUSB0", "unit": 1, "interval_s": counter_interval_s},
        {"type": "door", "id": "door-1", "pin": 17},
        {"type": "button", "id": "call-1", "pin": 22, "led_pin": 23},
    ]
    if grade != "2A":
        devices.append({"type": "camera", "id": "face-1", "source": "0", "gallery": "/var/lib/eldercare/faces"})
    return StationConfig.model_validate({
        "station": f"qd-{slug}-{number:02d}",
        "name": f"{town}第{number}{NAMES[kind]}",
        "kind": kind,
        "grade": grade,
        "town": town,
        "address": f"启东市{town}{number}号",
        "schedule": {"weekdays": "1-6" if index % 4 == 0 else "1-5", "hours": "08:30-11:30 13:30-17:00"},
        "mqtt": {"host": "127.0.0.1", "port": 1883, "tls": False},
        "devices": devices,
    })


def build_fleet(count: int, first: date, last: date, now: datetime, offline_hours: float = 30,
                counter_interval_s: float = 900, holiday: Callable[[date], bool] = lambda _: False) -> Fleet:
    """`count` stations (at least 3); the misbehaving ones are the first three, and from five up the last two are a
    care centre and a neighbourhood point. The spot checks fall on weekdays that `holiday` does not call a statutory
    holiday (a check on a holiday is excused, so it could not veto)."""
    if count < 3:
        raise ValueError("a fleet needs at least 3 stations (the demo's three problem cases)")
    kinds = ["station"] * count
    if count >= UNGRADED_FROM:
        kinds[-len(UNGRADED):] = UNGRADED
    grades = ["2A", "3A", "4A", *[GRADES[i % len(GRADES)] for i in range(3, count)]]
    stations = [station_config(i, grade if kind == "station" else None, counter_interval_s, kind)
                for i, (grade, kind) in enumerate(zip(grades, kinds, strict=True))]
    ungraded = {s.kind: s.station for s in stations if s.kind != "station"}
    weekdays = [d for d in (first + timedelta(days=i) for i in range((last - first).days + 1))
                if d.isoweekday() <= 5 and d < last and not holiday(d)]
    # Three working days spread over the span, the last one not too recent.
    check_days = [weekdays[len(weekdays) * k // 4] for k in (1, 2, 3)] if len(weekdays) >= 4 else weekdays[:3]
    return Fleet(stations, closed_on_checks=stations[0].station, below_threshold=stations[1].station,
                 offline=stations[2].station, check_days=check_days,
                 offline_from=now - timedelta(hours=offline_hours), care_centre=ungraded.get("care_centre"),
                 neighbourhood_point=ungraded.get("neighbourhood_point"))


def _shape(truth: GroundTruth, fleet: Fleet) -> GroundTruth:
    """Apply the fleet's problem cases to one station-day's truth."""
    truth = replace(truth, presses=[])
    if truth.station == fleet.closed_on_checks and truth.day in fleet.check_days:
        truth = replace(truth, open_intervals=[], visits=[], late_opening_min=0)
    if truth.station == fleet.below_threshold:
        circle = {f"elder-{i:03d}" for i in range(1, 26)}
        truth = replace(truth, visits=[v for v in truth.visits if v.role != "elder" or v.person in circle])
    return truth


def station_events(config: StationConfig, fleet: Fleet, first: date, last: date, seed: int) -> Iterator[SimEvent]:
    """One station's events over the span, in time order."""
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        truth = _shape(plan_day(config, day, seed), fleet)
        for event in day_events(truth, config, seed):
            if config.station == fleet.offline and event.at >= fleet.offline_from:
                status = Status(v=1, station=config.station, online=False, ts=fleet.offline_from)
                yield SimEvent(fleet.offline_from, str(agent_topic(config.station, "status")), encode(status))
                return
            yield event


def fleet_events(fleet: Fleet, first: date, last: date, seed: int = 0) -> Iterator[SimEvent]:
    """Every station's events over the span, merged in time order (lazily: a month of a fleet is large)."""
    streams = [station_events(config, fleet, first, last, seed) for config in fleet.stations]
    return heapq.merge(*streams, key=lambda e: e.at)


def stations_csv(fleet: Fleet) -> str:
    """The bureau's station spreadsheet for the fleet (the registry import's CSV); an ungraded site's grade cell is
    empty."""
    lines = ["station_id,name,town,grade,weekdays,hours,open_on_holidays,kind"]
    for s in fleet.stations:
        assert s.schedule is not None
        lines.append(f"{s.station},{s.name},{s.town},{s.grade or ''},\"{s.schedule.weekdays_text()}\","
                     f"{s.schedule.hours_text()},{'yes' if s.schedule.open_on_holidays else 'no'},{s.kind}")
    return "\n".join(lines) + "\n"
