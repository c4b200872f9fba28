"""Month and quarter roll-ups, on day records built field by field (what the store holds)."""

from datetime import date, timedelta
from typing import Any

from cloud.rules.config import RulesConfig
from cloud.rules.day import Verdict
from cloud.rules.records import DayEvidence, DayRecord, MonthRecord
from cloud.rules.rollup import coverage, month_record, quarter_of, quarter_record

CONFIG = RulesConfig()
SCHEDULED = 390 * 60
FIRST = date(2026, 10, 12)  # a Monday


def day(n: int, *, verdict: Verdict = Verdict.OPEN, known: int = SCHEDULED, served: int = SCHEDULED,
        working: bool | None = True, elders: tuple[str, ...] = (), anonymous: tuple[str, ...] = (),
        camera: bool = True, person_times: int = 10, **extra: Any) -> DayRecord:
    scheduled = SCHEDULED if working else 0
    fields: dict[str, Any] = dict(
        station="qd-a", date=FIRST + timedelta(days=n), working_day=working,
        compliance=served / scheduled if scheduled else None, verdict=verdict, person_times=person_times,
        elders=len(elders), anonymous_visitors=len(anonymous), known_share=known / scheduled if scheduled else None,
        calendar="workday", holiday=None, excused="approved" if verdict is Verdict.EXCUSED else None,
        open_share=None, scheduled_minutes=scheduled // 60, open_minutes=served // 60,
        closed_minutes=(known - served) // 60, unknown_minutes=(scheduled - known) // 60, late_open_minutes=0,
        early_close_minutes=0, scheduled_seconds=scheduled, known_seconds=known, served_seconds=served,
        person_times_basis="counter", entries=person_times, staff_visits=0, face_visits=len(elders),
        has_counter=True, has_camera=camera, elder_ids=sorted(elders), anonymous_ids=sorted(anonymous),
        clock_faults=0, notes=[],
        evidence=DayEvidence(sessions=[], open=[], closed=[], unknown=[], door_open=[], activity=[], offline_marks=0))
    fields.update(extra)
    return DayRecord(**fields)


def month(days: list[DayRecord], grade: str = "2A", config: RulesConfig = CONFIG, **kw: Any) -> MonthRecord:
    return month_record("qd-a", "2026-10", grade, days, working_days_in_month=kw.get("working", 20),
                        as_of=kw.get("as_of", days[-1].date), month_end=date(2026, 10, 31), config=config)


def test_compliance_is_served_over_scheduled_minutes() -> None:
    days = [day(0), day(1, verdict=Verdict.PARTIAL, served=SCHEDULED // 2), day(2, verdict=Verdict.UNKNOWN,
                                                                                  known=SCHEDULED // 3, served=0)]
    m = month(days)
    assert m.compliance == round((SCHEDULED + SCHEDULED // 2) / (3 * SCHEDULED), 4)
    assert m.known_share == round((2 * SCHEDULED + SCHEDULED // 3) / (3 * SCHEDULED), 4)
    assert m.scheduled_minutes == 3 * 390 and m.unknown_minutes == 260
    assert m.verdicts == {"open": 1, "partial": 1, "unknown": 1}


def test_a_sliver_of_data_is_never_full_compliance() -> None:
    # One day fully open and known, nineteen days barely seen: not 1.0, and not judged at all.
    days = [day(0)] + [day(n, verdict=Verdict.UNKNOWN, known=600, served=600) for n in range(1, 20)]
    m = month(days)
    assert m.compliance is None and m.compliance_reason and "known" in m.compliance_reason
    lenient = month(days, config=RulesConfig(month_min_known_share=0.05))
    assert lenient.compliance is not None and lenient.compliance < 0.1


def test_excused_days_count_as_served_and_not_scheduled_days_are_ignored() -> None:
    days = [day(0, verdict=Verdict.PARTIAL, served=SCHEDULED // 2),
            day(1, verdict=Verdict.EXCUSED, known=0, served=SCHEDULED),
            day(5, verdict=Verdict.NOT_SCHEDULED, working=False, known=0, served=0)]
    m = month(days)
    assert m.compliance == 0.75 and m.known_share == 1.0 and m.working_days_elapsed == 2


def test_a_day_of_unknown_calendar_makes_the_month_unjudged() -> None:
    m = month([day(0), day(1, verdict=Verdict.UNKNOWN, working=None, known=0, served=0)])
    assert m.compliance is None and m.compliance_reason and "calendar" in m.compliance_reason


def test_a_day_still_running_is_not_counted_yet() -> None:
    today = day(1, verdict=Verdict.UNKNOWN, known=SCHEDULED // 3, served=SCHEDULED // 3,
                verdict_so_far=Verdict.OPEN, compliance_so_far=1.0)
    assert month([day(0), today]).compliance == 1.0
    assert coverage([today], CONFIG).compliance is None  # nothing over yet


def test_a_day_stored_while_it_ran_counts_once_its_date_has_passed() -> None:
    """A station silent since the first pass after midnight: its day kept the provisional row of that pass (nothing
    known yet, nothing owed yet). Once the date has passed, its hours are owed and unknown, never skipped."""
    silent = [day(n, verdict=Verdict.UNKNOWN, known=0, served=0, verdict_so_far=Verdict.UNKNOWN) for n in (1, 2)]
    days = [day(0), *silent]

    def seen(today: date | None) -> MonthRecord:
        return month_record("qd-a", "2026-10", "2A", days, working_days_in_month=20, as_of=days[-1].date,
                            month_end=date(2026, 10, 31), config=CONFIG, today=today)

    assert seen(None).compliance == 1.0  # no clock given: every day with a verdict so far is taken as running
    on_the_day = seen(silent[-1].date)
    assert (on_the_day.compliance, on_the_day.scheduled_minutes) == (0.5, 2 * 390)  # the day before is over
    after = seen(silent[-1].date + timedelta(days=1))
    assert after.compliance is None and after.known_share == round(1 / 3, 4)  # a third known: not judged
    assert after.scheduled_minutes == 3 * 390 and after.served_minutes == 390
    assert coverage(days, CONFIG, FIRST + timedelta(days=3)).served_s == SCHEDULED


def test_elders_are_distinct_enrolled_ids_over_the_month() -> None:
    days = [day(0, elders=("e-1", "e-2"), anonymous=("anon-a",)), day(1, elders=("e-2", "e-3"),
                                                                          anonymous=("anon-a", "anon-b"))]
    m = month(days, working=20)
    assert (m.elders, m.anonymous_visitors, m.figure, m.threshold, m.met) == (3, 2, 3, 50, False)
    assert m.projection == 30 and m.at_risk is True and m.progress == 0.06
    counted = month(days, config=RulesConfig(count_anonymous_visitors=True))
    assert counted.figure == 5 and counted.basis == "elders+anonymous"


def test_the_threshold_is_met_at_exactly_the_grade_figure() -> None:
    elders = tuple(f"e-{i}" for i in range(50))
    m = month([day(0, elders=elders)])
    assert m.met is True and m.at_risk is False
    assert month([day(0, elders=elders[:49])]).met is False


def test_no_face_data_means_met_cannot_be_confirmed() -> None:
    m = month([day(n, camera=False, person_times=400) for n in range(3)])
    assert m.met is None and m.met_reason and m.figure is None and m.progress is None and m.at_risk is None
    assert m.person_times == 1200 and m.basis == "unconfirmed"


def test_month_line_round_trips_through_json_with_its_from_key() -> None:
    m = month([day(0)]).model_copy(update={"first_day": "2026-10-12"})
    stored = m.model_dump(mode="json", by_alias=True)
    assert stored["from"] == "2026-10-12" and "first_day" not in stored
    assert MonthRecord.model_validate(stored) == m


def test_quarter_rolls_up_days_and_months() -> None:
    days = [day(0), day(1, verdict=Verdict.CLOSED, served=0)]
    months = [month(days[:1]), month(days, grade="2A"), month([day(2, camera=False)])]
    q = quarter_record("qd-a", quarter_of(FIRST), days, months, CONFIG)
    assert q.quarter == "2026-Q4" and q.compliance == 0.5 and q.months == 3
    assert q.months_unconfirmed == 1 and q.monthly_average == 0.0 and q.months_met == 0


def test_old_stored_day_rows_still_read() -> None:
    stored = day(0).model_dump(mode="json")
    for key in ("anonymous_visitors", "known_share", "compliance_so_far", "verdict_so_far", "scheduled_seconds",
                "exits", "anonymous_ids", "count_balance", "equipment_off", "door_idle", "flags"):
        stored.pop(key)
    stored["evidence"].pop("presence")
    old = DayRecord.model_validate(stored)
    assert old.scheduled_s == SCHEDULED and old.flags == [] and old.anonymous_ids == []
