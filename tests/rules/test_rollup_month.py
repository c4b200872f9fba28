"""The month roll-up over a real month: October 2026 as the State Council's notice has it (National Day 1-7 October,
Saturday 10 October a make-up working day), day records derived from agent messages, then `month_line` exactly as
the worker and `cloud derive` call it. The boundaries: a month with no data, approved closures, holidays, a known
share on either side of the minimum, and every case where a figure is null and says why."""

from collections.abc import Mapping, Sequence
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from cloud.derive.files import read_events
from cloud.derive.shared import month_line
from cloud.rules.config import RulesConfig
from cloud.rules.records import DayRecord, MonthRecord, day_record
from cloud.rules.rollup import NO_FACES
from cloud.rules.station import derive_days
from tests.rules.conftest import SCHEDULE, as_lines
from tests.rules.scenario import StationDay

ZONE = "Asia/Shanghai"
OCTOBER = date(2026, 10, 1)
LAST = date(2026, 10, 31)
WORKING = [date(2026, 10, d) for d in (8, 9, 10, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23, 26, 27, 28, 29, 30)]
CONFIG = RulesConfig()
SCHEDULED_MIN = 390  # 08:30-11:30 and 13:30-17:00


def october(station_days: Sequence[StationDay], *, first: date = OCTOBER, as_of: date = LAST,
            exceptions: Mapping[date, str] | None = None, config: RulesConfig = CONFIG) -> MonthRecord:
    """The month line of station qd-a (grade 2A) from its agent's messages, as seen on `as_of`."""
    messages = [m for sd in station_days for m in sd.messages()]
    events = read_events(as_lines(messages), {}, ZoneInfo(ZONE))
    assert not events.problems, events.problems
    results = derive_days("qd-a", SCHEDULE, exceptions or {}, events.obs.get("qd-a", []), first, as_of, config)
    records: list[DayRecord] = [day_record(r, ZONE) for r in results]
    return month_line("qd-a", "2A", SCHEDULE, exceptions or {}, first, records, as_of, config)


def open_day(d: date, *, camera: bool = True, elders: int = 0) -> StationDay:
    visits = [(time(9, 0), f"e-{i:03d}", "elder") for i in range(elders)]
    return StationDay("qd-a", d, door=[(time(8, 20), time(17, 10))], visits=visits, camera=camera, flow_period_s=600)


def shut_day(d: date) -> StationDay:
    return StationDay("qd-a", d, flow_period_s=600)  # the agent reports all day; the door never opens


def every_day() -> list[StationDay]:
    return [open_day(OCTOBER + timedelta(days=n)) for n in range(31)]


def test_open_every_working_day_including_the_make_up_saturday() -> None:
    m = october(every_day())
    assert m.working_days == len(WORKING) == 18 and m.working_days_elapsed == 18
    assert m.compliance == 1.0 and m.compliance_reason is None and m.known_share == 1.0
    assert m.scheduled_minutes == 18 * SCHEDULED_MIN and m.complete is True
    # The seven holidays and four weekend days are neither owed nor counted, open or not.
    assert sum(m.verdicts.values()) == 31 and m.verdicts["open"] == 18


def test_a_station_that_keeps_the_make_up_saturday_as_a_weekend_loses_that_day() -> None:
    days = [shut_day(sd.day) if sd.day == date(2026, 10, 10) else sd for sd in every_day()]
    m = october(days)
    assert m.compliance == round(17 / 18, 4) and m.verdicts["closed"] == 1 and m.known_share == 1.0


def test_opening_on_holidays_does_not_make_up_for_a_closed_working_day() -> None:
    days = [shut_day(sd.day) if sd.day == date(2026, 10, 12) else sd for sd in every_day()]
    assert october(days).compliance == round(17 / 18, 4)  # open 1-7 October too: those minutes were not owed


def test_a_month_with_no_data_is_not_judged_and_says_why() -> None:
    m = october([])
    assert m.compliance is None and m.compliance_reason == (
        "only 0% of the scheduled minutes are known (at least 50% needed)")
    assert m.known_share == 0.0 and m.scheduled_minutes == 18 * SCHEDULED_MIN
    assert m.met is None and m.met_reason == NO_FACES and m.figure is None and m.person_times == 0
    assert m.verdicts.get("closed", 0) == 0  # silence is unknown, never closed


def test_approved_closures_are_owed_nothing_and_count_as_served() -> None:
    closed_week = {date(2026, 10, d): "renovation approved by the town" for d in (12, 13, 14, 15, 16)}
    days = [shut_day(sd.day) if sd.day in closed_week else sd for sd in every_day()]
    m = october(days, exceptions=closed_week)
    assert m.compliance == 1.0 and m.verdicts["excused"] == 5 and m.working_days == 18
    # The same closed week without the approval is five closed days.
    assert october(days).compliance == round(13 / 18, 4)


def test_a_closure_excuses_only_its_days() -> None:
    excused = {date(2026, 10, 12): "typhoon"}
    days = [shut_day(sd.day) if sd.day in (date(2026, 10, 12), date(2026, 10, 13)) else sd for sd in every_day()]
    assert october(days, exceptions=excused).compliance == round(17 / 18, 4)


def test_known_share_on_either_side_of_the_minimum() -> None:
    # Nine of the eighteen working days seen (the agent unplugged the rest): exactly half is known, so judged.
    seen = set(WORKING[:9])
    half = october([open_day(d) for d in seen])
    assert half.known_share == 0.5 and half.compliance == 0.5 and half.compliance_reason is None
    # Eight days seen: below half, not judged; a stricter or laxer rule moves the line, not the arithmetic.
    eight = october([open_day(d) for d in WORKING[:8]])
    assert eight.compliance is None and eight.known_share == round(8 / 18, 4)
    assert eight.compliance_reason == "only 44% of the scheduled minutes are known (at least 50% needed)"
    lax = october([open_day(d) for d in WORKING[:8]], config=RulesConfig(month_min_known_share=0.4))
    assert lax.compliance == round(8 / 18, 4)


def test_a_month_seen_only_on_its_holidays_has_nothing_scheduled_yet() -> None:
    m = october([open_day(OCTOBER + timedelta(days=n), elders=5) for n in range(7)], as_of=date(2026, 10, 7))
    assert m.compliance is None and m.compliance_reason == "no scheduled working hours"
    assert m.working_days == 18 and m.working_days_elapsed == 0 and m.complete is False
    # Elders who came on a holiday count; with no working day elapsed there is nothing to scale the figure by.
    assert (m.figure, m.projection, m.met, m.at_risk) == (5, 5, False, True)


def test_a_year_without_a_holiday_notice_is_not_judged() -> None:
    first = date(2099, 10, 1)
    days = [open_day(first + timedelta(days=n)) for n in range(31)]
    m = october(days, first=first, as_of=date(2099, 10, 31))
    assert m.compliance is None and m.compliance_reason == "the working calendar is unknown for 31 day(s)"
    assert m.working_days == 0


def test_without_a_camera_the_threshold_cannot_be_met_or_missed() -> None:
    m = october([open_day(sd.day, camera=False) for sd in every_day()])
    assert m.compliance == 1.0  # the door and the counter still show the hours
    assert (m.met, m.met_reason, m.figure, m.basis) == (None, NO_FACES, None, "unconfirmed")


def test_elders_counted_once_over_the_month_and_projected_from_the_days_elapsed() -> None:
    seen = [open_day(d, elders=10) for d in WORKING[:3]]  # the same ten elders on 8, 9 and 10 October
    m = october(seen, as_of=date(2026, 10, 10))
    assert (m.elders, m.figure, m.threshold, m.met) == (10, 10, 50, False)
    assert m.working_days_elapsed == 3 and m.projection == 60 and m.at_risk is False
