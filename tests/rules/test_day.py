"""Scenario tests: a station-day's events with known ground truth, through the decoder and the rules."""

from datetime import date, time

from cloud.rules.config import RulesConfig
from cloud.rules.day import Verdict
from tests.rules.conftest import derive
from tests.rules.scenario import StationDay, visits_every

MONDAY = date(2026, 10, 12)
ELDERS = ["e-001", "e-002", "anon-7f3a", "e-003"]
FULL = [(time(8, 25), time(11, 35)), (time(13, 25), time(17, 5))]


def normal_day(day: date = MONDAY, **kw: object) -> StationDay:
    visits = visits_every(time(8, 40), time(11, 20), 20, ELDERS) + visits_every(time(13, 40), time(16, 50), 20,
                                                                                  ELDERS)
    return StationDay("qd-a", day, door=kw.pop("door", FULL), visits=kw.pop("visits", visits), **kw)  # type: ignore[arg-type]


def test_open_all_day() -> None:
    sd = normal_day()
    r = derive(sd.messages(), MONDAY)
    assert r.verdict is Verdict.OPEN
    assert r.compliance == 1.0
    assert r.late_open_s == 0 and r.early_close_s == 0
    assert r.visitors.person_times == len(sd.visits) and len(r.visitors.elders) == 4


def test_late_opening_is_measured_and_lowers_compliance() -> None:
    sd = normal_day(door=[(time(9, 15), time(11, 35)), (time(13, 25), time(17, 5))],
                    visits=visits_every(time(9, 20), time(11, 20), 20, ELDERS))
    r = derive(sd.messages(), MONDAY)
    assert round(r.late_open_s / 60) == 45
    assert round(r.closed_s / 60) == 45
    assert r.verdict is Verdict.PARTIAL  # 345 of 390 minutes: 88 %
    assert r.compliance is not None and abs(r.compliance - (390 - 45) / 390) < 0.01


def test_lunch_break_is_not_counted_against_the_station() -> None:
    # Door shut and nobody in from 11:30 to 13:30 — outside the sessions, so still fully open.
    r = derive(normal_day().messages(), MONDAY)
    assert r.scheduled_s == 390 * 60
    assert r.closed_s == 0


def test_early_closing() -> None:
    sd = normal_day(door=[(time(8, 25), time(11, 35)), (time(13, 25), time(16, 0))],
                    visits=visits_every(time(8, 40), time(11, 0), 30, ELDERS))
    r = derive(sd.messages(), MONDAY)
    assert round(r.early_close_s / 60) == 60


def test_closed_day_with_agent_online() -> None:
    r = derive(StationDay("qd-a", MONDAY).messages(), MONDAY)
    assert r.verdict is Verdict.CLOSED
    assert r.compliance == 0.0
    assert r.unknown_s == 0


def test_offline_hour_is_unknown_never_closed_nor_open() -> None:
    sd = normal_day(offline=[(time(9, 0), time(10, 0))])
    r = derive(sd.messages(), MONDAY)
    # The count reported at 10:00 covers 09:59-10:00: the hour is unknown, give or take that minute.
    assert 59 <= round(r.unknown_s / 60) <= 60
    assert r.closed_s == 0
    # Unknown minutes are not open either: compliance is the open share of all 390 scheduled minutes.
    assert r.compliance is not None and abs(r.compliance - 330 / 390) < 0.01
    assert r.known_share is not None and abs(r.known_share - 330 / 390) < 0.01
    assert r.verdict is Verdict.PARTIAL
    # Seen at 08:25, then an hour of silence in working hours: the station's equipment was off.
    assert [59 <= round((e - s) / 60) <= 60 for s, e in r.equipment_off] == [True] and "equipment_off" in r.flags


def test_offline_all_day_is_unknown() -> None:
    r = derive([], MONDAY)
    assert r.verdict is Verdict.UNKNOWN and r.compliance == 0.0 and r.known_share == 0.0
    assert r.closed_s == 0
    assert r.equipment_off == []  # never seen that day: nothing to say about its equipment


def test_winter_shut_door_with_activity_counts_as_open() -> None:
    visits = visits_every(time(8, 30), time(11, 30), 10, ELDERS) + visits_every(time(13, 30), time(17, 0), 10,
                                                                                  ELDERS)
    sd = StationDay("qd-a", MONDAY, door=[], visits=visits)
    r = derive(sd.messages(), MONDAY)
    assert r.verdict is Verdict.OPEN
    assert r.timeline.door_open == []


def test_statutory_holiday_is_not_scheduled() -> None:
    day = date(2026, 10, 1)
    sd = normal_day(day)
    r = derive(sd.messages(), day)
    assert r.verdict is Verdict.NOT_SCHEDULED and r.compliance is None
    assert r.visitors.person_times == len(sd.visits)  # visits still count toward the month


def test_makeup_sunday_is_judged() -> None:
    day = date(2026, 9, 20)
    closed = derive(StationDay("qd-a", day).messages(), day)
    assert closed.plan.working is True and closed.verdict is Verdict.CLOSED
    opened = derive(normal_day(day).messages(), day)
    assert opened.verdict is Verdict.OPEN


def test_approved_exception_excuses_a_closed_day() -> None:
    r = derive(StationDay("qd-a", MONDAY).messages(), MONDAY, exceptions={MONDAY: "typhoon"})
    assert r.verdict is Verdict.EXCUSED
    assert r.compliance == 1.0 and r.open_share == 0.0


def test_staff_are_not_person_times() -> None:
    visits = [*visits_every(time(8, 40), time(9, 40), 20, ELDERS), (time(8, 31), "staff-1", "staff")]
    r = derive(normal_day(visits=visits).messages(), MONDAY)
    assert r.visitors.entries == 4 and r.visitors.staff_visits == 1
    assert r.visitors.person_times == 3
    assert "staff-1" not in r.visitors.elders


def test_no_counter_counts_face_visits() -> None:
    sd = normal_day(counter=False)
    r = derive(sd.messages(), MONDAY)
    assert r.visitors.person_times_basis == "faces" and r.visitors.person_times == len(sd.visits)


def test_thresholds_are_configuration() -> None:
    sd = normal_day(door=[(time(9, 15), time(11, 35)), (time(13, 25), time(17, 5))],
                    visits=visits_every(time(9, 20), time(11, 20), 20, ELDERS))
    strict = derive(sd.messages(), MONDAY, config=RulesConfig(open_share=0.95, closed_share=0.1))
    assert strict.verdict is Verdict.PARTIAL
    lenient = derive(sd.messages(), MONDAY, config=RulesConfig(open_share=0.8, closed_share=0.1))
    assert lenient.verdict is Verdict.OPEN


def test_unknown_year_gives_unknown_verdict() -> None:
    day = date(2027, 3, 1)
    r = derive(normal_day(day).messages(), day)
    assert r.verdict is Verdict.UNKNOWN and r.plan.working is None


def test_door_left_open_overnight_carries_into_the_next_day() -> None:
    from datetime import timedelta

    sunday = StationDay("qd-a", MONDAY - timedelta(days=1), door=[(time(20, 0), time(23, 59, 59))])
    messages = [m for m in sunday.messages() if b'"closed"' not in m[1]]  # it is never closed
    monday = StationDay("qd-a", MONDAY)  # heartbeats only: no door event on Monday
    r = derive(messages + monday.messages(), MONDAY)
    assert r.verdict is Verdict.OPEN and r.timeline.door_open[0][0] == r.plan.start
    far = derive(messages + monday.messages(), MONDAY, config=RulesConfig(door_lookback_hours=2))
    assert far.verdict is Verdict.CLOSED  # opened 12 hours before: beyond a 2-hour lookback
