from datetime import date

from cloud.rules.calendar import DayKind, national_day, plan_day
from firmware_config.schedule import Schedule

WEEKDAYS = Schedule(weekdays="1-5", hours="08:30-11:30 13:30-17:00")
EVERY_DAY_HOLIDAYS_TOO = Schedule(weekdays="1-7", hours="09:00-16:00", open_on_holidays=True)


def test_ordinary_weekday_has_both_sessions() -> None:
    plan = plan_day(WEEKDAYS, date(2026, 10, 12))
    assert plan.working is True
    assert plan.national.kind is DayKind.WORKDAY
    assert plan.scheduled_seconds == (3 * 60 + 3 * 60 + 30) * 60


def test_national_day_is_a_holiday_for_weekday_stations() -> None:
    plan = plan_day(WEEKDAYS, date(2026, 10, 1))
    assert plan.national.kind is DayKind.HOLIDAY and plan.national.name == "National Day"
    assert plan.working is False and plan.sessions == ()


def test_moved_weekday_inside_the_golden_week_is_a_holiday() -> None:
    # 2026-10-07 is a Wednesday given off in exchange for a make-up Saturday.
    assert plan_day(WEEKDAYS, date(2026, 10, 7)).working is False


def test_makeup_sunday_is_a_working_day() -> None:
    # 2026-09-20 is a Sunday worked instead (调休).
    plan = plan_day(WEEKDAYS, date(2026, 9, 20))
    assert plan.national.kind is DayKind.MAKEUP
    assert plan.working is True and len(plan.sessions) == 2


def test_ordinary_weekend_is_not_working() -> None:
    assert plan_day(WEEKDAYS, date(2026, 10, 18)).working is False


def test_station_open_on_holidays_keeps_its_weekly_schedule() -> None:
    assert plan_day(EVERY_DAY_HOLIDAYS_TOO, date(2026, 10, 1)).working is True


def test_year_the_calendar_does_not_know_is_unknown_not_guessed() -> None:
    plan = plan_day(WEEKDAYS, date(2027, 3, 1))
    assert national_day(date(2027, 3, 1)).kind is DayKind.UNKNOWN
    assert plan.working is None
    assert "2027" in (plan.national.name or "")


def test_exception_excuses_the_day() -> None:
    plan = plan_day(WEEKDAYS, date(2026, 10, 12), {date(2026, 10, 12): "typhoon"})
    assert plan.excused == "typhoon" and plan.working is True


def test_sessions_are_in_station_local_time() -> None:
    urumqi = Schedule(weekdays="1-5", hours="10:00-12:00", timezone="Asia/Urumqi")
    shanghai = Schedule(weekdays="1-5", hours="10:00-12:00")
    day = date(2026, 10, 12)
    assert plan_day(urumqi, day).sessions[0][0] - plan_day(shanghai, day).sessions[0][0] == 2 * 3600
