"""The people counter's period after the agent was away. The agent reads the counter's cumulative registers every
minute and reports what they moved since its last reading, resuming from the counters it stored with its last event:
its first reading after a reboot, a power cut or the Pi unplugged covers the whole time it was away. That says
someone came in at some time in it, not when, and not that the agent (or the station) was there meanwhile.
"""

import json
import uuid
from datetime import date, datetime, time, timedelta

from cloud.rules.config import RulesConfig
from cloud.rules.day import Verdict
from cloud.rules.spotcheck import SpotResult, judge
from station_protocol import Flow, encode
from station_protocol.topics import device_topic
from tests.gaming.attacks import FULL, Message, visits
from tests.rules.conftest import derive
from tests.rules.scenario import TZ, StationDay

MONDAY = date(2026, 11, 16)
CONFIG = RulesConfig()


def _first_count(back: time, away_s: int, entries: int) -> Message:
    """The counter's first reading when the agent is back: everything since its last reading, `away_s` ago."""
    flow = Flow.model_validate({"v": 1, "id": uuid.uuid4(), "station": "qd-a", "device": "counter-1", "seq": 9000,
                                "ts": datetime.combine(MONDAY, back, TZ) + timedelta(seconds=30),
                                "period_s": away_s, "in": entries, "out": 0, "counter_in": 5000 + entries,
                                "counter_out": 5000})
    return str(device_topic("qd-a", "counter-1", "flow")), encode(flow)


def _away(messages: list[Message], start: time, end: time) -> list[Message]:
    """Nothing the agent published from `start` to `end` (it was off); the broker's last will carries the time the
    agent connected, days before, so it marks nothing here."""
    lo, hi = datetime.combine(MONDAY, start, TZ), datetime.combine(MONDAY, end, TZ)
    return [m for m in messages if not lo <= datetime.fromisoformat(json.loads(m[1])["ts"]) < hi]


def _spot(messages: list[Message], start: time = time(9), end: time = time(10)) -> SpotResult:
    return judge(derive(messages, MONDAY), start, end, "Asia/Shanghai", CONFIG).result


def test_a_pi_unplugged_for_a_shut_day_is_not_opened_by_the_counters_first_reading() -> None:
    # Shut all day; the Pi unplugged at 08:00 with the counter left powered, someone walks through once, the Pi is
    # plugged back in at 16:50: the counter's first reading covers the whole day with one entry.
    shut = _away(StationDay("qd-a", MONDAY).messages(), time(8), time(16, 50))
    r = derive([*shut, _first_count(time(16, 50), 8 * 3600 + 50 * 60, 1)], MONDAY)
    # Open only from half an hour before the reading (the entry may have been then) to the session's end.
    assert r.verdict is Verdict.UNKNOWN and r.open_s <= 40 * 60
    assert "equipment_off" in r.flags
    assert _spot([*shut, _first_count(time(16, 50), 8 * 3600 + 50 * 60, 1)]) is SpotResult.UNVERIFIABLE


def test_an_agent_rebooting_at_nine_loses_nothing() -> None:
    # An open day, the door shut (winter), elders every ten minutes; the agent reboots at 09:00 and is back at
    # 09:00:40: its first count covers the 100 s since its last reading.
    day = StationDay("qd-a", MONDAY, visits=visits(MONDAY)).messages()
    rebooted = [*_away(day, time(9), time(9, 0, 40)), _first_count(time(9, 0, 40), 100, 0)]
    assert _spot(rebooted, time(8, 40), time(9, 40)) is SpotResult.PASS
    assert derive(rebooted, MONDAY).unknown_s == 0


def test_a_counter_reporting_every_quarter_hour_keeps_its_whole_period() -> None:
    # A counter read every 15 minutes (a vendor's default): each count is evidence and activity over its period.
    day = StationDay("qd-a", MONDAY, door=FULL, visits=visits(MONDAY), flow_period_s=900).messages()
    r = derive(day, MONDAY)
    assert r.verdict is Verdict.OPEN and r.unknown_s == 0
