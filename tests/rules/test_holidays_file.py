"""The bureau's local holiday file over chinesecalendar: overrides, years it declares, and one line per problem."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.rules.calendar import PACKAGE, Calendar, DayKind, package_knows, plan_day, unknown_years
from cloud.rules.holidays_file import HolidayFileError, parse_holidays, to_csv
from firmware_config.schedule import Schedule

WEEKDAYS = Schedule(weekdays="1-5", hours="08:30-11:30 13:30-17:00")
MONDAY, SATURDAY = date(2026, 10, 12), date(2026, 10, 17)
COUNTY = ("date,kind,name\n"
          "2026-10-12,holiday,县庆\n"
          "2026-10-17,workday,县庆调休\n")
NOTICE_2027 = ("\ufeffdate,kind,name\n"  # as Excel saves "CSV UTF-8"
               "2027-01-01,holiday,元旦\n"
               "2027-02-06,holiday,春节\n"
               "2027-02-07,workday,春节调休\n")


def test_a_county_holiday_on_a_monday_and_a_working_saturday() -> None:
    assert plan_day(WEEKDAYS, MONDAY).working is True and plan_day(WEEKDAYS, SATURDAY).working is False
    calendar = Calendar.from_days(parse_holidays(COUNTY))
    monday, saturday = plan_day(WEEKDAYS, MONDAY, None, calendar), plan_day(WEEKDAYS, SATURDAY, None, calendar)
    assert monday.working is False and monday.sessions == ()
    assert monday.national.kind is DayKind.HOLIDAY and monday.national.name == "县庆"
    assert saturday.working is True and saturday.national.kind is DayKind.MAKEUP
    assert saturday.scheduled_seconds == (3 * 60 + 3 * 60 + 30) * 60
    # Dates the file does not list keep the package's answer.
    assert plan_day(WEEKDAYS, date(2026, 10, 1), None, calendar).national.name == "National Day"
    assert plan_day(WEEKDAYS, date(2026, 10, 13), None, calendar).working is True


def test_a_station_open_on_holidays_keeps_its_weekly_schedule() -> None:
    calendar = Calendar.from_days(parse_holidays(COUNTY))
    every_day = Schedule(weekdays="1-7", hours="09:00-16:00", open_on_holidays=True)
    assert plan_day(every_day, MONDAY, None, calendar).working is True


def test_a_2027_date_known_only_from_the_file() -> None:
    assert not package_knows(2027)  # chinesecalendar 1.11 stops at 2026: the case the file exists for
    assert plan_day(WEEKDAYS, date(2027, 3, 1)).working is None
    calendar = Calendar.from_days(parse_holidays(NOTICE_2027))
    assert calendar.knows(2027) and not calendar.knows(2028)
    assert plan_day(WEEKDAYS, date(2027, 2, 6), None, calendar).working is False  # a listed holiday (a Saturday)
    makeup = plan_day(WEEKDAYS, date(2027, 2, 7), None, calendar)  # a listed Sunday worked
    assert makeup.working is True and makeup.national.kind is DayKind.MAKEUP
    # Unlisted dates of a year the file declares follow the week; another year stays unknown.
    assert plan_day(WEEKDAYS, date(2027, 3, 1), None, calendar).working is True  # a Monday
    assert plan_day(WEEKDAYS, date(2027, 3, 6), None, calendar).national.kind is DayKind.WEEKEND
    assert plan_day(WEEKDAYS, date(2028, 3, 1), None, calendar).national.kind is DayKind.UNKNOWN


def test_validation_lists_every_problem_with_its_line() -> None:
    text = ("date,kind,name\n"
            "2026-13-01,holiday,bad month\n"
            "2026-10-12,vacation,wrong kind\n"
            "2026-10-12,holiday,ok\n"
            "\n"
            "2026-10-12,workday,again\n"
            "2026-10-14,holiday\n"
            "26-10-15,holiday,short year\n")
    with pytest.raises(HolidayFileError) as raised:
        parse_holidays(text)
    assert raised.value.problems == [
        "line 2: bad date '2026-13-01' (expected YYYY-MM-DD)",
        "line 3: bad kind 'vacation' (expected holiday or workday)",
        "line 6: duplicate date 2026-10-12 (first on line 4)",
        "line 7: expected 3 cells date,kind,name, got 2",
        "line 8: bad date '26-10-15' (expected YYYY-MM-DD)",
    ]


@pytest.mark.parametrize("text", ["day,kind,name\n2026-10-12,holiday,x\n", "date,name,kind\n", "date,kind\n", ""])
def test_a_wrong_header_is_one_problem_on_line_1(text: str) -> None:
    with pytest.raises(HolidayFileError) as raised:
        parse_holidays(text)
    assert len(raised.value.problems) == 1 and raised.value.problems[0].startswith("line 1: ")


def test_the_file_round_trips() -> None:
    days = parse_holidays(COUNTY)
    assert [(d.day, d.kind, d.name) for d in parse_holidays(to_csv(days))] == [(d.day, d.kind, d.name) for d in days]


def test_next_years_calendar_is_missed_from_1_december() -> None:
    assert unknown_years(PACKAGE, date(2026, 11, 30)) == []
    assert unknown_years(PACKAGE, date(2026, 12, 1)) == [2027]
    assert unknown_years(PACKAGE, date(2027, 1, 5)) == [2027]
    assert unknown_years(Calendar.from_days(parse_holidays(NOTICE_2027)), date(2026, 12, 1)) == []


def test_binary_or_endless_garbage_is_a_short_clear_refusal() -> None:
    with pytest.raises(HolidayFileError) as raised:
        parse_holidays("date,kind,name\n2026-10-12,holiday,a\x00b\n")
    assert raised.value.problems == ["line 2: name contains control characters"]
    with pytest.raises(HolidayFileError) as raised:
        parse_holidays("date,kind,name\n" + "someday,off,x\n" * 1000)
    assert len(raised.value.problems) == 51 and raised.value.problems[-1] == "... and 1950 more problems"


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.dates(date(2026, 1, 1), date(2027, 12, 31)), st.sampled_from(["holiday", "workday"]),
                       max_size=20),
       st.dates(date(2026, 1, 1), date(2027, 12, 31)))
def test_the_file_decides_its_dates_and_nothing_else(lines: dict[date, str], probe: date) -> None:
    text = "date,kind,name\n" + "".join(f"{d.isoformat()},{k},\n" for d, k in lines.items())
    calendar = Calendar.from_days(parse_holidays(text))
    plan = plan_day(WEEKDAYS, probe, None, calendar)
    if probe in lines:
        assert plan.working is (lines[probe] == "workday")
    elif package_knows(probe.year):
        assert plan.national == plan_day(WEEKDAYS, probe).national
    elif probe.year in {d.year for d in lines}:
        assert plan.working is (probe.isoweekday() <= 5)
    else:
        assert plan.working is None
