"""An honest station in winter: the door shut to keep the heat in, so what shows it open is the people counter's
presence (visitors counted in and not yet out), less the staff the camera saw. Staff who eat their lunch at the
station are in the building over the midday break without passing the counter again; the count starts again from zero
at each session's end, so they are not in the afternoon's count and must not be taken off it.
"""

import uuid
from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict, hhmm
from cloud.rules.spotcheck import SpotResult, judge
from station_protocol import Face, encode
from station_protocol.topics import device_topic
from tests.gaming.attacks import Message
from tests.rules.conftest import derive
from tests.rules.scenario import TZ, StationDay

MONDAY = date(2026, 11, 16)
CONFIG = RulesConfig()
STAFF = [(time(8, 15), "s-1", "staff"), (time(8, 16), "s-2", "staff")]  # the plan's two staff, through the counter


def _face(person: str, role: Literal["elder", "staff", "unknown"], at: time, seq: int) -> Message:
    face = Face(v=1, id=uuid.uuid4(), station="qd-a", device="cam-1", seq=seq, ts=datetime.combine(MONDAY, at, TZ),
                person=person, role=role, distance=0.31)
    return str(device_topic("qd-a", "cam-1", "face")), encode(face)


def _spot(r: DayResult, start: time, end: time) -> SpotResult:
    return judge(r, start, end, "Asia/Shanghai", CONFIG).result


def test_staff_who_lunch_at_the_station_do_not_hide_the_afternoons_elders() -> None:
    # The staff came in at 08:15 and stay all day; after lunch they walk past the camera (13:35). Two elders come in
    # at 13:40 for the afternoon's mahjong and leave at 16:30. Nobody came in the morning.
    elders = [(time(13, 40), "e-001", "elder"), (time(13, 41), "e-002", "elder")]
    day = StationDay("qd-a", MONDAY, visits=STAFF + elders, exits=[(time(16, 30), 2), (time(17, 10), 2)])
    r = derive([*day.messages(), _face("s-1", "staff", time(13, 35), 900), _face("s-2", "staff", time(13, 36), 901)],
               MONDAY)
    assert hhmm(r.timeline.presence, ZoneInfo("Asia/Shanghai")) == ["13:41-16:31"]
    assert _spot(r, time(14, 30), time(15, 30)) is SpotResult.PASS
    assert r.visitors.elders == {"e-001", "e-002"}


def test_staff_who_went_out_for_lunch_are_taken_off_again_when_they_come_back() -> None:
    # The same staff leave at 11:40 and come back through the counter at 13:20, seen at the door both times; no
    # visitor all afternoon: the afternoon is closed (staff alone are not a station open to the public).
    back = [(time(13, 20), "s-1", "staff"), (time(13, 21), "s-2", "staff")]
    day = StationDay("qd-a", MONDAY, visits=STAFF + back, exits=[(time(11, 40), 2), (time(17, 10), 2)])
    going = [_face("s-1", "staff", time(11, 40, 5), 900), _face("s-2", "staff", time(11, 40, 9), 901)]
    r = derive(day.messages() + going, MONDAY)
    assert not r.timeline.presence and r.verdict is Verdict.CLOSED
    assert _spot(r, time(14), time(15)) is SpotResult.FAIL


def test_a_counter_that_never_counts_out_still_cannot_carry_the_morning_into_the_afternoon() -> None:
    # The "out" beam covered: the staff and one visitor counted in in the morning, never out; the staff seen again in
    # the afternoon, away from any entry. The morning's count is still reconciled at 11:30: the afternoon is closed.
    day = StationDay("qd-a", MONDAY, visits=[*STAFF, (time(8, 40), "anon-7f3a", "unknown")])
    r = derive([*day.messages(), _face("s-1", "staff", time(14), 900), _face("s-2", "staff", time(14, 20), 901)],
               MONDAY)
    # from the count of the minute 08:40-08:41
    assert hhmm(r.timeline.presence, ZoneInfo("Asia/Shanghai")) == ["08:41-11:30"]
    assert r.timeline.reconciled == 3
    assert _spot(r, time(14), time(15)) is SpotResult.FAIL
