"""Windows in which the platform lost messages (an ingester's session gone with what the broker dealt to it): the
day touching one is flagged with a note naming it in local time, and a spot check whose judged stretch touches one
is unverifiable (never a fail toward the veto, nor a pass), however the lost messages shaped the timeline. So is one
the station was shown open for only by a door state or visitors counted in from before a window (the "closed" or the
exits ending it may be among the lost). A check just outside is judged as before."""

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cloud.derive.files import read_events
from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.intervals import Interval
from cloud.rules.losses import FLAG_PLATFORM_LOST, trusted
from cloud.rules.records import day_record
from cloud.rules.spotcheck import SpotReason, SpotResult, judge
from cloud.rules.station import derive_days
from tests.rules.conftest import SCHEDULE, as_lines
from tests.rules.scenario import StationDay, visits_every

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 10, 12)
CONFIG = RulesConfig()


def at(day: date, clock: time) -> float:
    return datetime.combine(day, clock, TZ).timestamp()


def window(start: time, end: time, day: date = MONDAY) -> Interval:
    return at(day, start), at(day, end)


def lose(messages: list[tuple[str, bytes]], lost: Interval) -> list[tuple[str, bytes]]:
    """What reaches the platform: every message stamped inside the window is gone (the worst case of a share)."""
    def stamped(payload: bytes) -> float:
        return datetime.fromisoformat(json.loads(payload)["ts"]).timestamp()
    return [(t, p) for t, p in messages if not lost[0] <= stamped(p) < lost[1]]


def days(messages: list[tuple[str, bytes]], first: date, last: date, losses: list[Interval]) -> list[DayResult]:
    events = read_events(as_lines(messages), {}, TZ)
    assert not events.problems, events.problems
    return derive_days("qd-a", SCHEDULE, {}, events.obs.get("qd-a", []), first, last, CONFIG, losses=losses)


def spot(messages: list[tuple[str, bytes]], start: time, end: time, losses: list[Interval]) -> tuple[SpotResult,
                                                                                                       SpotReason]:
    [day] = days(messages, MONDAY, MONDAY, losses)
    judgement = judge(day, start, end, "Asia/Shanghai", CONFIG)
    return judgement.result, judgement.code


OPEN_ALL_DAY = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))])


def test_a_lost_door_message_before_the_check_cannot_fail_it() -> None:
    """The station opened at 08:20; that door message and the heartbeats around it were lost. The timeline then
    shows it shut from 08:30 through the check: without the loss known that fails the station."""
    lost = window(time(8, 10), time(8, 40))
    received = lose(OPEN_ALL_DAY.messages(), lost)
    assert spot(received, time(9, 0), time(10, 0), []) == (SpotResult.FAIL, SpotReason.CLOSED)
    assert spot(received, time(9, 0), time(10, 0), [lost]) == (SpotResult.UNVERIFIABLE,
                                                               SpotReason.PLATFORM_LOST_MESSAGES)


def test_a_loss_inside_the_check_cannot_pass_it_either() -> None:
    lost = window(time(9, 20), time(9, 30))
    received = lose(OPEN_ALL_DAY.messages(), lost)
    assert spot(received, time(9, 0), time(10, 0), [lost]) == (SpotResult.UNVERIFIABLE,
                                                               SpotReason.PLATFORM_LOST_MESSAGES)
    [day] = days(received, MONDAY, MONDAY, [lost])
    judgement = judge(day, time(9, 0), time(10, 0), "Asia/Shanghai", CONFIG)
    # The window, and the rest of the session the door is shown open only on its 08:20 message.
    assert judgement.stretches == ("09:20-11:30",)
    assert "2026-10-12 09:20 to 2026-10-12 09:30" in judgement.reason


def test_a_loss_just_outside_the_judged_stretch_changes_nothing() -> None:
    closed = StationDay("qd-a", MONDAY).messages()  # shut all day, heard all day
    # From the end of the morning session into the lunch break: it touches no minute the check judges.
    lost = window(time(11, 30), time(12, 30))
    assert spot(lose(closed, lost), time(9, 0), time(10, 0), [lost]) == (SpotResult.FAIL, SpotReason.CLOSED)
    assert spot(lose(OPEN_ALL_DAY.messages(), lost), time(9, 0), time(10, 0), [lost]) == (SpotResult.PASS,
                                                                                           SpotReason.OPEN)
    # The afternoon is another stretch: a loss in it does not reach a morning check.
    later = window(time(14, 0), time(14, 30))
    assert spot(lose(closed, later), time(9, 0), time(10, 0), [later]) == (SpotResult.FAIL, SpotReason.CLOSED)


def test_a_shut_station_cannot_hide_behind_a_loss_on_another_day() -> None:
    closed = StationDay("qd-a", MONDAY).messages()
    sunday_night = window(time(22, 0), time(23, 0), MONDAY - timedelta(days=1))
    assert spot(closed, time(9, 0), time(10, 0), [sunday_night]) == (SpotResult.FAIL, SpotReason.CLOSED)


def test_an_approved_closure_stays_excused() -> None:
    [day] = days(StationDay("qd-a", MONDAY).messages(), MONDAY, MONDAY, [window(time(9, 0), time(10, 0))])
    excused = derive_days("qd-a", SCHEDULE, {MONDAY: "renovation"}, [], MONDAY, MONDAY, CONFIG,
                          losses=[window(time(9, 0), time(10, 0))])[0]
    assert judge(excused, time(9, 0), time(10, 0), "Asia/Shanghai", CONFIG).result is SpotResult.EXCUSED
    assert FLAG_PLATFORM_LOST in day.flags


def test_the_day_is_flagged_with_the_window_in_local_time_and_its_verdict_kept() -> None:
    lost = window(time(14, 0), time(14, 30))
    received = lose(OPEN_ALL_DAY.messages(), lost)
    [without] = days(received, MONDAY, MONDAY, [])
    [day] = days(received, MONDAY, MONDAY, [lost])
    assert FLAG_PLATFORM_LOST in day.flags and FLAG_PLATFORM_LOST not in without.flags
    assert day.verdict is without.verdict is Verdict.OPEN
    record = day_record(day, "Asia/Shanghai")
    assert record.platform_lost == ["2026-10-12 14:00 to 2026-10-12 14:30"]
    assert any("2026-10-12 14:00 to 2026-10-12 14:30 (Asia/Shanghai)" in n for n in record.notes)
    assert day_record(without, "Asia/Shanghai").platform_lost == []


def test_a_loss_across_midnight_in_shanghai_flags_both_days() -> None:
    lost = (at(MONDAY, time(23, 50)), at(MONDAY + timedelta(days=1), time(0, 20)))
    sd = [StationDay("qd-a", MONDAY + timedelta(days=i), door=[(time(8, 20), time(17, 10))]) for i in range(3)]
    messages = [m for s in sd for m in s.messages()]
    monday, tuesday, wednesday = days(messages, MONDAY, MONDAY + timedelta(days=2), [lost])
    assert FLAG_PLATFORM_LOST in monday.flags and FLAG_PLATFORM_LOST in tuesday.flags
    assert FLAG_PLATFORM_LOST not in wednesday.flags
    window_text = "2026-10-12 23:50 to 2026-10-13 00:20"
    assert day_record(monday, "Asia/Shanghai").platform_lost == [window_text]
    assert day_record(tuesday, "Asia/Shanghai").platform_lost == [window_text]
    # For a station kept in UTC the same window (15:50-16:20) lies inside one day: the station's zone decides.
    in_utc = SCHEDULE.model_copy(update={"timezone": "UTC"})
    utc = derive_days("qd-a", in_utc, {}, [], MONDAY, MONDAY + timedelta(days=1), CONFIG, losses=[lost])
    assert [FLAG_PLATFORM_LOST in d.flags for d in utc] == [True, False]


# A station that opened at 08:20 and shut at 12:05 for the day: the "closed" falls in a window over lunch.
SHUT_AT_NOON = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(12, 5))])
LUNCH = window(time(12, 0), time(12, 10))


def test_a_lost_closed_message_cannot_pass_a_check_after_it() -> None:
    """Without the loss known, the door reads open from 08:20 all day and an afternoon check passes a shut station;
    with it, the afternoon rests on the 08:20 message alone: unverifiable, the town goes on site."""
    received = lose(SHUT_AT_NOON.messages(), LUNCH)
    assert spot(received, time(14, 0), time(15, 0), []) == (SpotResult.PASS, SpotReason.OPEN)
    assert spot(received, time(14, 0), time(15, 0), [LUNCH]) == (SpotResult.UNVERIFIABLE,
                                                                 SpotReason.PLATFORM_LOST_MESSAGES)
    [day] = days(received, MONDAY, MONDAY, [LUNCH])
    judgement = judge(day, time(14, 0), time(15, 0), "Asia/Shanghai", CONFIG)
    assert judgement.stretches == ("13:30-17:00",)
    assert "before the check" in judgement.reason and "2026-10-12 12:00 to 2026-10-12 12:10" in judgement.reason
    # The morning, shown open by messages from before the window, is judged as ever.
    assert spot(received, time(9, 0), time(10, 0), [LUNCH]) == (SpotResult.PASS, SpotReason.OPEN)
    # The day says which hours rest on the old state; its verdict is what the received data show.
    record = day_record(day, "Asia/Shanghai")
    assert record.evidence.open_unconfirmed == ["13:30-17:00"]
    assert any("13:30-17:00 (Asia/Shanghai)" in n and "spot check does not count" in n for n in record.notes)
    assert day.verdict is days(received, MONDAY, MONDAY, [])[0].verdict


def test_a_door_message_after_the_window_confirms_the_state_again() -> None:
    """Shut at 12:05 (lost) and opened again at 14:00 (received, an "open" after an "open"): from 14:00 the door's
    state is confirmed; the half hour before it, shut in truth, is still not judged on the sensors."""
    received = lose(StationDay("qd-a", MONDAY, door=[(time(8, 20), time(12, 5)), (time(14, 0), time(17, 10))])
                    .messages(), LUNCH)
    assert spot(received, time(15, 0), time(16, 0), [LUNCH]) == (SpotResult.PASS, SpotReason.OPEN)
    assert spot(received, time(13, 30), time(14, 30), [LUNCH]) == (SpotResult.UNVERIFIABLE,
                                                                   SpotReason.PLATFORM_LOST_MESSAGES)


def test_a_busy_station_is_shown_open_by_its_visitors_whatever_was_lost_before() -> None:
    """Entries and faces all afternoon are evidence of their own: a loss over lunch leaves such a check judged."""
    busy = StationDay("qd-a", MONDAY, door=[(time(8, 20), time(17, 10))],
                      visits=visits_every(time(8, 30), time(17, 0), 10, ["e1", "e2", "e3"]))
    assert spot(lose(busy.messages(), LUNCH), time(14, 0), time(15, 0), [LUNCH]) == (SpotResult.PASS, SpotReason.OPEN)


def test_lost_exits_cannot_keep_a_winter_station_open() -> None:
    """Door shut for the cold; five elders counted in at 08:40 and out at 09:30, the exits lost: the count says
    someone is inside until the session's end. A check after the window cannot pass on that count."""
    winter = StationDay("qd-a", MONDAY, visits=[(time(8, 40), f"e{i}", "elder") for i in range(5)],
                        exits=[(time(9, 30), 5)])
    lost = window(time(9, 25), time(9, 35))
    received = lose(winter.messages(), lost)
    assert spot(received, time(10, 30), time(11, 30), []) == (SpotResult.PASS, SpotReason.OPEN)
    assert spot(received, time(10, 30), time(11, 30), [lost]) == (SpotResult.UNVERIFIABLE,
                                                                  SpotReason.PLATFORM_LOST_MESSAGES)
    # With the exits received the truth shows: shut from 09:30, a fail.
    assert spot(winter.messages(), time(10, 30), time(11, 30), []) == (SpotResult.FAIL, SpotReason.CLOSED)


def test_a_door_left_open_over_a_loss_the_evening_before() -> None:
    """The door opened on Sunday evening and its 21:00 "closed" was lost: Monday's door reads open through the door
    lookback. Monday's check is not judged on it, and Monday's day names Sunday's window."""
    sunday = MONDAY - timedelta(days=1)
    evening = StationDay("qd-a", sunday, door=[(time(20, 0), time(21, 0))])
    lost = window(time(20, 55), time(21, 5), sunday)
    received = lose([*evening.messages(), *StationDay("qd-a", MONDAY).messages()], lost)
    monday = derive_days("qd-a", SCHEDULE, {}, read_events(as_lines(received), {}, TZ).obs["qd-a"], MONDAY, MONDAY,
                         CONFIG, losses=[lost])[0]
    assert judge(monday, time(9, 0), time(10, 0), "Asia/Shanghai", CONFIG).result is SpotResult.UNVERIFIABLE
    assert FLAG_PLATFORM_LOST in monday.flags
    assert day_record(monday, "Asia/Shanghai").platform_lost == ["2026-10-11 20:55 to 2026-10-11 21:05"]
    # Without the loss known, the shut station passed on Sunday's door.
    without = derive_days("qd-a", SCHEDULE, {}, read_events(as_lines(received), {}, TZ).obs["qd-a"], MONDAY, MONDAY,
                          CONFIG)[0]
    assert judge(without, time(9, 0), time(10, 0), "Asia/Shanghai", CONFIG).result is SpotResult.PASS
    # A door shut properly before the window carries nothing: Monday fails as a shut day should.
    closed_before = lose([*StationDay("qd-a", sunday, door=[(time(19, 0), time(20, 0))]).messages(),
                          *StationDay("qd-a", MONDAY).messages()], lost)
    fine = derive_days("qd-a", SCHEDULE, {}, read_events(as_lines(closed_before), {}, TZ).obs["qd-a"], MONDAY,
                       MONDAY, CONFIG, losses=[lost])[0]
    assert judge(fine, time(9, 0), time(10, 0), "Asia/Shanghai", CONFIG).result is SpotResult.FAIL
    assert FLAG_PLATFORM_LOST not in fine.flags


def test_trusted_cuts_each_state_at_the_first_window_after_it() -> None:
    # One door's doubt does not cut another's; a state set inside a window is not trusted at all.
    assert trusted([(0, 100), (50, 200), (300, 400)], [(60, 70), (310, 320)]) == [(0, 60), (50, 60), (300, 310)]
    assert trusted([(65, 100)], [(60, 70)]) == []
    assert trusted([(0, 50)], [(60, 70)]) == [(0, 50)]
