"""Helpers: run scenario messages through the protocol decoder and the rules."""

import json
from collections.abc import Mapping, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from cloud.derive.files import read_events
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult
from cloud.rules.intervals import Interval
from cloud.rules.station import derive_days
from firmware_config.schedule import Schedule

SCHEDULE = Schedule(weekdays="1-5", hours="08:30-11:30 13:30-17:00")


def as_lines(messages: list[tuple[str, bytes]]) -> list[str]:
    return [json.dumps({"topic": topic, "payload": json.loads(payload)}) for topic, payload in messages]


def derive(messages: list[tuple[str, bytes]], day: date, schedule: Schedule = SCHEDULE,
           exceptions: Mapping[date, str] | None = None, config: RulesConfig | None = None,
           station: str = "qd-a", losses: Sequence[Interval] = ()) -> DayResult:
    events = read_events(as_lines(messages), {}, ZoneInfo("Asia/Shanghai"))
    assert not events.problems, events.problems
    obs = events.obs.get(station, [])
    return derive_days(station, schedule, exceptions or {}, obs, day, day, config or RulesConfig(),
                       losses=losses)[0]
