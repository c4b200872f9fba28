"""Every spot-check result carries a stable reason code beside its English sentence: the dashboard translates the
code, so rewording a sentence cannot silently change what a bureau reads."""

from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from cloud.derive.files import read_events
from cloud.rules.config import RulesConfig
from cloud.rules.spotcheck import SpotJudgement, SpotReason, SpotResult, judge
from cloud.rules.station import derive_days
from cloud.rules.unanswered import Ask
from station_protocol import Heartbeat, encode
from station_protocol.topics import agent_topic
from tests.rules.conftest import SCHEDULE, as_lines, derive
from tests.rules.scenario import StationDay

MONDAY = date(2026, 10, 12)
SATURDAY = date(2026, 10, 17)
CONFIG = RulesConfig()
TZ = ZoneInfo("Asia/Shanghai")
LOST = (datetime(2026, 10, 12, 9, 30, tzinfo=TZ).timestamp(), datetime(2026, 10, 12, 9, 40, tzinfo=TZ).timestamp())


def check(sd: StationDay, start: time, end: time, **kw: object) -> SpotJudgement:
    return judge(derive(sd.messages(), sd.day, **kw), start, end, "Asia/Shanghai", CONFIG)  # type: ignore[arg-type]


def _behind_answer() -> tuple[str, bytes]:
    """The agent's answer to a time check asked at 09:00, stamped 08:35:01 by its clock (a heartbeat is identified
    by its time: not one of the five-minute ones)."""
    asked = datetime(2026, 10, 12, 9, 0, tzinfo=TZ)
    beat = Heartbeat(v=1, station="qd-a", ts=asked - timedelta(minutes=24, seconds=59), version="1", uptime_s=1,
                     outbox=0, check="c-1", asked=asked)
    return str(agent_topic("qd-a", "heartbeat")), encode(beat)


def _unanswered() -> SpotJudgement:
    """Open all day by its sensors, heard live, but none of the day's four checks (09:00-09:45) answered."""
    events = read_events(as_lines(StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))]).messages()), {}, TZ)
    asks = [Ask(f"c-{i}", datetime(2026, 10, 12, 9, 15 * i, tzinfo=TZ).timestamp()) for i in range(4)]
    day = derive_days("qd-a", SCHEDULE, {}, events.obs["qd-a"], MONDAY, MONDAY, CONFIG, asks=asks)[0]
    return judge(day, time(9), time(10), "Asia/Shanghai", CONFIG)
def _stepped_beats() -> list[tuple[str, bytes]]:
    """The agent's heartbeats of one boot, its clock set back 30 minutes at 08:00 (cloud.rules.clock_steps)."""
    out = []
    for minute in range(7 * 60, 10 * 60):
        real = datetime(2026, 10, 12, tzinfo=TZ) + timedelta(minutes=minute, seconds=13)
        shift = timedelta(minutes=30) if minute >= 8 * 60 else timedelta(0)
        beat = Heartbeat(v=1, station="qd-a", ts=real - shift, version="1", uptime_s=1, outbox=0,
                         boot=UUID("0f5c2a31-6a4e-4b1e-9d7c-1a2b3c4d5e6f"), boot_s=minute * 60.0)
        out.append((str(agent_topic("qd-a", "heartbeat")), encode(beat)))
    return out


def test_each_outcome_has_its_code() -> None:
    cases = {
        SpotReason.OPEN: check(StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))]), time(9), time(10)),
        SpotReason.CLOSED: check(StationDay("qd-a", MONDAY), time(9), time(10)),
        # The door opened for five seconds at 09:10 and 09:24 of a shut morning: closed 08:30-11:30 all the same.
        SpotReason.CLOSED_BRIEF_OPENINGS: check(StationDay("qd-a", MONDAY, door=[
            (time(9, 10), time(9, 10, 5)), (time(9, 24), time(9, 24, 5))]), time(9), time(10)),
        SpotReason.DEVICES_OFF: check(StationDay("qd-a", MONDAY, offline=[(time(8), time(12))]), time(9), time(10)),
        SpotReason.APPROVED_CLOSURE: check(StationDay("qd-a", MONDAY), time(9), time(10),
                                           exceptions={MONDAY: "renovation"}),
        SpotReason.NOT_WORKING_DAY: check(StationDay("qd-a", SATURDAY), time(9), time(10)),
        SpotReason.OUTSIDE_HOURS: check(StationDay("qd-a", MONDAY), time(12), time(13)),
        SpotReason.CALENDAR_UNKNOWN: check(StationDay("qd-a", date(2099, 10, 12)), time(9), time(10)),
        SpotReason.PLATFORM_LOST_MESSAGES: check(StationDay("qd-a", MONDAY), time(9), time(10), losses=[LOST]),
        SpotReason.CLOCK_BEHIND: judge(derive([*StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))])
                                               .messages(), _behind_answer()], MONDAY), time(9), time(10),
                                       "Asia/Shanghai", CONFIG),
        SpotReason.CLOCK_UNANSWERED: _unanswered(),
        SpotReason.CLOCK_STEPPED: judge(derive([*StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))])
                                                .messages(), *_stepped_beats()], MONDAY), time(9), time(10),
                                        "Asia/Shanghai", CONFIG),
    }
    assert set(cases) == set(SpotReason), "a code no case produces"
    assert {code: j.code for code, j in cases.items()} == {code: code for code in cases}
    results = {code: j.result for code, j in cases.items()}
    assert results == {
        SpotReason.OPEN: SpotResult.PASS, SpotReason.CLOSED: SpotResult.FAIL,
        SpotReason.CLOSED_BRIEF_OPENINGS: SpotResult.FAIL,
        SpotReason.DEVICES_OFF: SpotResult.UNVERIFIABLE, SpotReason.APPROVED_CLOSURE: SpotResult.EXCUSED,
        SpotReason.NOT_WORKING_DAY: SpotResult.EXCUSED, SpotReason.OUTSIDE_HOURS: SpotResult.EXCUSED,
        SpotReason.CALENDAR_UNKNOWN: SpotResult.UNVERIFIABLE,
        SpotReason.PLATFORM_LOST_MESSAGES: SpotResult.UNVERIFIABLE,
        SpotReason.CLOCK_BEHIND: SpotResult.UNVERIFIABLE, SpotReason.CLOCK_UNANSWERED: SpotResult.UNVERIFIABLE,
        SpotReason.CLOCK_STEPPED: SpotResult.UNVERIFIABLE,
    }
    # The sentence keeps the details the code cannot: the closure's own reason, the grace in minutes.
    assert "renovation" in cases[SpotReason.APPROVED_CLOSURE].reason
    assert f"{CONFIG.spot_check_grace_minutes:g} min" in cases[SpotReason.CLOSED].reason
    assert cases[SpotReason.CLOSED_BRIEF_OPENINGS].reason.endswith(
        f"shown open only briefly (2 openings shorter than {CONFIG.spot_check_min_open_minutes:g} min)")
    assert cases[SpotReason.CLOSED_BRIEF_OPENINGS].stretches == ("08:30-11:30",)


def test_a_national_holiday_is_not_a_working_day() -> None:
    national_day = check(StationDay("qd-a", date(2026, 10, 1)), time(9), time(10))
    assert (national_day.result, national_day.code) == (SpotResult.EXCUSED, SpotReason.NOT_WORKING_DAY)
