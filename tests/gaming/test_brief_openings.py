"""A shut station whose door is opened for a few seconds every 14 minutes: every closed stretch is shorter than the
spot check's grace, so each check used to pass while the day's compliance was near 0 and the veto could never be set.
A brief opening (shorter than `spot_check_min_open_minutes`) between two closed stretches no longer splits them; an
honest station, whose visitors keep it open far longer than that, is not touched."""

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from cloud.rules.config import RulesConfig
from cloud.rules.day import DayResult, Verdict
from cloud.rules.intervals import Interval
from cloud.rules.spotcheck import SpotJudgement, SpotResult, judge, vetoes
from tests.gaming.attacks import ELDERS, FULL
from tests.rules.conftest import derive
from tests.rules.scenario import StationDay, visits_every

MONDAY = date(2026, 10, 12)
TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)
CONFIG = RulesConfig()
OLD = RulesConfig(spot_check_min_open_minutes=0)  # every opening splits a closed stretch, as before
# Windows all over both sessions (08:30-11:30, 13:30-17:00): an hour, half an hour, five minutes, a whole session.
WINDOWS = [(time(8, 30), time(9, 30)), (time(9), time(10)), (time(10, 30), time(11, 30)),
           (time(11, 20), time(11, 25)), (time(13, 30), time(14, 30)), (time(14, 40), time(15, 10)),
           (time(16), time(17)), (time(8, 30), time(11, 30))]


def blips(every: int = 14, seconds: int = 5, start: time = time(8),
          end: time = time(17, 30)) -> list[tuple[time, time]]:
    """The door opened for `seconds` every `every` minutes from `start` to `end`, nobody coming in."""
    out = []
    minute = start.hour * 60 + start.minute
    while minute < end.hour * 60 + end.minute:
        out.append((time(minute // 60, minute % 60), time(minute // 60, minute % 60, seconds)))
        minute += every
    return out


def blipped(day: date = MONDAY) -> DayResult:
    return derive(StationDay("qd-a", day, door=blips()).messages(), day)


def check(r: DayResult, window: tuple[time, time], config: RulesConfig = CONFIG) -> SpotJudgement:
    return judge(r, *window, TZ, config)


def at(clock: time) -> float:
    return datetime.combine(MONDAY, clock, ZONE).timestamp()


@pytest.mark.parametrize("window", WINDOWS)
def test_a_door_opened_for_seconds_every_14_minutes_fails_every_check(window: tuple[time, time]) -> None:
    r = blipped()
    assert r.verdict is Verdict.CLOSED and r.compliance is not None and r.compliance < 0.01
    judgement = check(r, window)
    assert (judgement.result, judgement.code.value) == (SpotResult.FAIL, "closed_brief_openings")
    # The stretch is listed whole, the openings in it included; the sentence says why it is one stretch.
    session = "08:30-11:30" if window[0] < time(12) else "13:30-17:00"
    assert judgement.stretches == (session,)
    openings = 12 if session == "08:30-11:30" else 15  # 08:42 to 11:18, and 13:36 to 16:52, every 14 minutes
    assert judgement.reason.endswith(f"shown open only briefly ({openings} openings shorter than 10 min)")
    assert f"{CONFIG.spot_check_grace_minutes:g} min" in judgement.reason
    # Before: no closed stretch longer than the grace, so the inspector at the door was "expected" to find it open.
    assert check(r, window, OLD).result is SpotResult.PASS


def test_only_the_spot_check_changes_not_the_day() -> None:
    r, before = blipped(), derive(StationDay("qd-a", MONDAY, door=blips()).messages(), MONDAY, config=OLD)
    assert (r.verdict, r.compliance, r.open_s, r.closed_s, r.unknown_s, r.flags) == (
        before.verdict, before.compliance, before.open_s, before.closed_s, before.unknown_s, before.flags)
    assert r.timeline == before.timeline


def test_three_blipped_days_set_the_veto() -> None:
    days = [MONDAY + timedelta(days=n) for n in range(3)]  # Monday to Wednesday, a checked window on each
    windows = [(time(9), time(10)), (time(14), time(15)), (time(10, 30), time(11))]
    results = [("qd-a", d, check(blipped(d), w).result) for d, w in zip(days, windows, strict=True)]
    (status,) = vetoes(results, CONFIG)
    assert (status.failed, status.veto, status.failed_dates) == (3, True, ("2026-10-12", "2026-10-13", "2026-10-14"))
    old = [("qd-a", d, check(blipped(d), (time(9), time(10)), OLD).result) for d in days]
    assert vetoes(old, OLD)[0].veto is False  # the hole: never a failed check


@pytest.mark.parametrize("every", [20, 40])
def test_an_honest_winter_station_with_its_door_shut_passes(every: int) -> None:
    # The door is shut against the cold and opened for five seconds as each visitor comes in (every 20 or 40
    # minutes, counted and seen): each entry keeps the station open for `activity_minutes`, far beyond a blip.
    visits = (visits_every(time(8, 32), time(11, 25), every, ELDERS)
              + visits_every(time(13, 32), time(16, 55), every, ELDERS))
    door = [(t, time(t.hour, t.minute, 5)) for t, _, _ in visits]
    r = derive(StationDay("qd-a", MONDAY, door=door, visits=visits).messages(), MONDAY)
    assert r.compliance is not None and r.compliance > 0.75
    assert {w: check(r, w).result for w in WINDOWS} == {w: SpotResult.PASS for w in WINDOWS}


def test_elders_counted_in_behind_a_shut_door_pass() -> None:
    # Ten elders come in at 08:31 and leave at 11:31, again 13:31 to 17:01; the door opened for a few seconds as
    # they come and go, and by a member of staff at 10:00 and 15:00.
    people = [f"e-{i:03d}" for i in range(10)]
    door = [(time(8, 31), time(8, 31, 20)), (time(10), time(10, 0, 5)), (time(11, 31), time(11, 31, 20)),
            (time(13, 31), time(13, 31, 20)), (time(15), time(15, 0, 5)), (time(17, 1), time(17, 1, 20))]
    sd = StationDay("qd-a", MONDAY, door=door, visits=[(time(8, 31), p, "elder") for p in people]
                    + [(time(13, 31), p, "elder") for p in people], exits=[(time(11, 31), 10), (time(17, 1), 10)])
    r = derive(sd.messages(), MONDAY)
    assert r.verdict is Verdict.OPEN
    assert {w: check(r, w).result for w in WINDOWS} == {w: SpotResult.PASS for w in WINDOWS}


def test_a_blip_beside_a_long_open_stretch_does_not_fail_it() -> None:
    # Opened ten minutes late (the door tried once at 08:35), open all morning but for a twelve-minute pause
    # at 10:00 in which the door was opened once for five seconds; open all afternoon.
    door = [(time(8, 35), time(8, 35, 5)), (time(8, 40), time(10)), (time(10, 6), time(10, 6, 5)),
            (time(10, 12), time(11, 35)), FULL[1]]
    r = derive(StationDay("qd-a", MONDAY, door=door).messages(), MONDAY)
    # The closed stretches either side of the long open one do not join across it, and each with its blip is
    # shorter than the grace.
    assert {w: check(r, w).result for w in WINDOWS} == {w: SpotResult.PASS for w in WINDOWS}


@pytest.mark.parametrize(("opening", "expected"), [(9, SpotResult.FAIL), (10, SpotResult.PASS)])
def test_an_opening_as_long_as_the_setting_splits_a_closed_stretch(opening: int, expected: SpotResult) -> None:
    # Open until 09:00, shut 14 minutes, open `opening` minutes, shut 14 minutes, open again.
    reopen = 9 * 60 + 14 + opening
    door = [(time(8, 25), time(9)), (time(9, 14), time(reopen // 60, reopen % 60)),
            (time((reopen + 14) // 60, (reopen + 14) % 60), time(11, 35)), FULL[1]]
    r = derive(StationDay("qd-a", MONDAY, door=door).messages(), MONDAY)
    assert check(r, (time(9), time(10))).result is expected
    assert check(r, (time(9), time(10)), OLD).result is SpotResult.PASS
    assert check(r, (time(9), time(10)), RulesConfig(spot_check_min_open_minutes=opening + 1)).result is (
        SpotResult.FAIL)


def test_the_setting_at_0_restores_the_old_judgement() -> None:
    r = blipped()
    assert {w: check(r, w, OLD).result for w in WINDOWS} == {w: SpotResult.PASS for w in WINDOWS}
    assert {w: check(r, w, RulesConfig(spot_check_min_open_minutes=0.05)).result for w in WINDOWS} == {
        w: SpotResult.PASS for w in WINDOWS}  # a 3-second setting: five-second openings are not brief


def test_blips_at_the_lunch_break_join_nothing() -> None:
    # Open until 11:18 and from 13:42; the door opened for seconds across both session edges and during lunch. Each
    # closed stretch is 12 minutes: the lunch break still separates them.
    door = [(time(8, 25), time(11, 18)), (time(11, 29, 58), time(11, 30, 3)), (time(12), time(12, 0, 5)),
            (time(13, 29, 58), time(13, 30, 3)), (time(13, 42), time(17, 5))]
    r = derive(StationDay("qd-a", MONDAY, door=door).messages(), MONDAY)
    for window in [(time(11), time(12)), (time(11), time(14)), (time(13, 30), time(14, 30))]:
        assert check(r, window).result is SpotResult.PASS, window


def _timeline(known: list[Interval], opened: list[Interval]) -> DayResult:
    """An open day with its timeline replaced: `known` and `open` as given."""
    r = derive(StationDay("qd-a", MONDAY, door=FULL).messages(), MONDAY)
    return replace(r, timeline=replace(r.timeline, known=known, open=opened, open_unconfirmed=[]))


def test_a_blip_between_a_closed_and_an_unknown_stretch_is_not_a_pass() -> None:
    # Open to 09:40, shut 12 minutes, the door opened for five seconds at 09:52, then the devices off for 12 minutes,
    # open again from 10:04. No closed stretch is longer than the grace, but nothing showed it open for 24 minutes.
    day_start, day_end = at(time(0)), at(time(23, 59, 59))
    known = [(day_start, at(time(9, 52, 5))), (at(time(10, 4)), day_end)]
    opened = [(day_start, at(time(9, 40))), (at(time(9, 52)), at(time(9, 52, 5))), (at(time(10, 4)), day_end)]
    r = _timeline(known, opened)
    judgement = check(r, (time(9, 30), time(10)))
    assert (judgement.result, judgement.code.value) == (SpotResult.UNVERIFIABLE, "devices_off")
    assert judgement.stretches == ("09:40-10:04",)
    assert judgement.reason.endswith("shown open only briefly (1 opening shorter than 10 min)")
    assert check(r, (time(9, 30), time(10)), OLD).result is SpotResult.PASS
    # With the devices on and the door shut over those 12 minutes instead, it is a closed stretch: a fail.
    shut = _timeline([(day_start, day_end)], opened)
    assert check(shut, (time(9, 30), time(10))).result is SpotResult.FAIL


def test_messages_lost_by_the_platform_in_the_joined_stretch_leave_the_check_to_the_inspector() -> None:
    # As for any closed stretch: a loss anywhere in the stretch a check touches makes it unverifiable, a loss in
    # the other session does not.
    lost = [(at(time(10, 40)), at(time(10, 45)))]
    r = derive(StationDay("qd-a", MONDAY, door=blips()).messages(), MONDAY, losses=lost)
    judgement = check(r, (time(9), time(9, 30)))
    assert (judgement.result, judgement.code.value) == (SpotResult.UNVERIFIABLE, "platform_lost_messages")
    assert check(r, (time(14), time(15))).result is SpotResult.FAIL
