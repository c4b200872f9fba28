"""An elder's service period (since/until): a month covered in part requires its category's minimum pro-rated by
the days covered, rounded up; a month outside the period is not judged; orders outside it are counted and flagged.
Dates are the elder's own (Asia/Shanghai): a sign-in at 23:30 on the day before joining is before it."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cloud.homecare.config import HomecareConfig
from cloud.homecare.counting import elder_months, month_lines
from cloud.homecare.csv_files import parse_elders
from cloud.homecare.records import Category, CategoryVersion, Elder, Visit
from cloud.homecare.service_period import month_requirement, outside_period, period_days

CST = timezone(timedelta(hours=8))
CONFIG = HomecareConfig()
NOW = datetime(2028, 6, 1, tzinfo=UTC)


def _elder(category: Category = Category.DISABLED, since: date | None = None, until: date | None = None,
           eid: str = "e-1") -> Elder:
    return Elder(eid, "张大爷", category, "汇龙镇", "p-a", since=since, until=until)


def _visit(n: int, at: datetime, elder: str = "e-1", minutes: int = 60) -> Visit:
    return Visit(f"v-{elder}-{n}", elder, "A001", "p-a", at, at + timedelta(minutes=minutes), ("meal",))


@pytest.mark.parametrize(("category", "required"), [(Category.HIGH_AGE, 1), (Category.SELF_CARE, 1),
                                                    (Category.SEMI_DISABLED, 1), (Category.DISABLED, 1)])
def test_joining_on_the_25th_of_a_30_day_month_owes_a_share_rounded_up(category: Category, required: int) -> None:
    elder = _elder(category, since=date(2026, 11, 25))
    assert period_days(elder, "2026-11") == (6, 30)  # the 25th to the 30th, both included
    # 4 × 6/30 = 0.8 and 1 × 6/30 = 0.2: any day of service owes one whole visit.
    [none] = elder_months(elder, [], ["2026-11"], [], CONFIG)
    assert (none.required, none.met) == (required, False)
    [one] = elder_months(elder, [_visit(1, datetime(2026, 11, 27, 9, tzinfo=CST))], ["2026-11"], [], CONFIG)
    assert (one.visits, one.required, one.met) == (1, required, True)


def test_leaving_on_the_5th_and_joining_mid_month() -> None:
    left = _elder(until=date(2026, 10, 5))
    assert period_days(left, "2026-10") == (5, 31)
    assert month_requirement(left, "2026-10", CONFIG) == 1  # 4 × 5/31 = 0.65 → 1
    assert month_requirement(left, "2026-11", CONFIG) is None  # gone: not judged
    mid = _elder(since=date(2026, 10, 16))
    assert month_requirement(mid, "2026-10", CONFIG) == 3  # 4 × 16/31 = 2.06 → 3, not 2
    assert month_requirement(_elder(Category.SEMI_DISABLED, since=date(2026, 10, 17)), "2026-10", CONFIG) == 1


def test_a_whole_month_and_no_period_require_the_full_minimum() -> None:
    for elder in (_elder(), _elder(since=date(2026, 10, 1), until=date(2026, 10, 31)),
                  _elder(since=date(2025, 1, 1), until=date(2027, 1, 1))):
        [line] = elder_months(elder, [], ["2026-10"], [], CONFIG)
        assert line.required == 4
    # Off in the rules file: the full minimum in every month the period touches.
    full = HomecareConfig(prorate_partial_months=False)
    assert month_requirement(_elder(since=date(2026, 11, 25)), "2026-11", full) == 4
    assert month_requirement(_elder(since=date(2026, 11, 25)), "2026-10", full) is None
    # A category with no minimum owes nothing, period or not.
    zero = HomecareConfig(monthly_minimum={Category.HIGH_AGE: 0, Category.SELF_CARE: 1, Category.SEMI_DISABLED: 2,
                                           Category.DISABLED: 4})
    assert month_requirement(_elder(Category.HIGH_AGE, since=date(2026, 11, 30)), "2026-11", zero) == 0


def test_february_by_its_own_days() -> None:
    assert period_days(_elder(since=date(2027, 2, 15)), "2027-02") == (14, 28)
    assert month_requirement(_elder(since=date(2027, 2, 15)), "2027-02", CONFIG) == 2  # 4 × 14/28 exactly
    assert period_days(_elder(since=date(2028, 2, 15)), "2028-02") == (15, 29)  # a leap year
    assert month_requirement(_elder(since=date(2028, 2, 15)), "2028-02", CONFIG) == 3  # 4 × 15/29 = 2.07 → 3
    assert month_requirement(_elder(until=date(2028, 2, 29)), "2028-02", CONFIG) == 4  # left on the last day


def test_months_outside_the_period_are_not_judged_for_the_elder_nor_the_provider() -> None:
    joiner = _elder(since=date(2026, 11, 25), eid="e-1")
    leaver = _elder(Category.HIGH_AGE, until=date(2026, 10, 5), eid="e-2")
    visits = [_visit(1, datetime(2026, 10, 3, 9, tzinfo=CST), "e-2"),
              _visit(2, datetime(2026, 11, 26, 9, tzinfo=CST), "e-1")]
    lines, providers = month_lines([joiner, leaver], visits, ["2026-10", "2026-11"], {}, CONFIG, NOW)
    assert [(ln.elder, ln.month, ln.required, ln.met) for ln in lines] == [
        ("e-1", "2026-11", 1, True), ("e-2", "2026-10", 1, True)]
    # Each month the provider is judged on the one elder it served then, and both were met.
    assert [(p.month, p.elders, p.elders_met, p.orders) for p in providers] == [("2026-10", 1, 1, 1),
                                                                               ("2026-11", 1, 1, 1)]


def test_a_made_up_month_passes_on_its_pro_rated_shortfall_only() -> None:
    elder = _elder(since=date(2026, 10, 25))  # October owes 4 × 7/31 → 1
    lines = elder_months(elder, [], ["2026-10", "2026-11"], ["2026-10"], CONFIG)
    assert [(ln.month, ln.required) for ln in lines] == [("2026-10", 0), ("2026-11", 5)]


def test_orders_outside_the_period_are_counted_and_flagged_by_the_elders_day() -> None:
    elder = _elder(since=date(2026, 11, 25), until=date(2026, 12, 10))
    visits = [_visit(1, datetime(2026, 11, 24, 23, 30, tzinfo=CST)),  # 15:30 UTC on the 24th: before joining
              _visit(2, datetime(2026, 11, 25, 0, 10, tzinfo=CST)),  # 16:10 UTC on the 24th, but the 25th there
              _visit(3, datetime(2026, 12, 11, 9, tzinfo=CST)),
              _visit(4, datetime(2026, 10, 20, 9, tzinfo=CST))]  # a month not judged at all
    lines = elder_months(elder, visits, ["2026-10", "2026-11", "2026-12"], [], CONFIG)
    assert [(ln.month, ln.visits, ln.required) for ln in lines] == [("2026-11", 2, 1), ("2026-12", 1, 2)]
    flagged = outside_period({elder.id: elder}, visits, ["2026-10", "2026-11", "2026-12"])
    assert [(f.visit, f.month, f.day, f.reason) for f in flagged] == [
        ("v-e-1-4", "2026-10", date(2026, 10, 20), "before_since"),
        ("v-e-1-1", "2026-11", date(2026, 11, 24), "before_since"),
        ("v-e-1-3", "2026-12", date(2026, 12, 11), "after_until")]
    assert outside_period({elder.id: elder}, visits, ["2026-12"])[0].visit == "v-e-1-3"


def test_until_before_since_is_refused() -> None:
    with pytest.raises(ValueError, match="until 2026-10-01 is before since 2026-10-02"):
        _elder(since=date(2026, 10, 2), until=date(2026, 10, 1))


def test_elders_csv_with_and_without_the_period_columns() -> None:
    old, problems = parse_elders("elder_id,name,category,town,provider\ne-1,张大爷,失能,汇龙镇,p-a\n")
    assert problems == [] and (old[0].since, old[0].until) == (None, None)
    text = ("elder_id,name,category,town,provider,address,package,lat,lon,timezone,since,until\n"
            "e-1,张大爷,disabled,汇龙镇,p-a,,,,,,2026-11-25,\n"
            "e-2,李奶奶,high_age,汇龙镇,p-a,,,,,,,2026-10-05\n"
            "e-3,王奶奶,high_age,汇龙镇,p-a,,,,,,2026-11-31,\n"
            "e-4,赵大爷,high_age,汇龙镇,p-a,,,,,,2026/11/25,\n"
            "e-5,钱大爷,high_age,汇龙镇,p-a,,,,,,2026-11-25,2026-11-24\n"
            "e-6,孙奶奶,self_care,汇龙镇,p-a,,,,,,2026-10-01,2026-10-31\n")
    elders, problems = parse_elders(text)
    assert [(e.id, e.since, e.until) for e in elders] == [
        ("e-1", date(2026, 11, 25), None), ("e-2", None, date(2026, 10, 5)),
        ("e-6", date(2026, 10, 1), date(2026, 10, 31))]
    assert [str(p) for p in problems] == [
        "line 4: since '2026-11-31' is not a date YYYY-MM-DD (e.g. 2026-10-25)",
        "line 5: since '2026/11/25' is not a date YYYY-MM-DD (e.g. 2026-10-25)",
        "line 6: until 2026-11-24 is before since 2026-11-25"]
    # The two columns alone, in any order, after the required ones.
    only, problems = parse_elders("elder_id,name,category,town,provider,until,since\n"
                                  "e-1,张大爷,disabled,汇龙镇,p-a,2026-12-31,2026-11-25\n")
    assert problems == [] and (only[0].since, only[0].until) == (date(2026, 11, 25), date(2026, 12, 31))


def test_each_day_owes_by_the_category_in_force_on_it() -> None:
    history = (CategoryVersion(date(2026, 7, 16), Category.DISABLED), CategoryVersion(date(2026, 1, 1),
                                                                                      Category.SELF_CARE))
    elder = Elder("e-1", "张大爷", Category.DISABLED, "汇龙镇", "p-a", categories=history)
    assert elder.category_on(date(2025, 12, 1)) == Category.SELF_CARE  # before the first version: the first
    assert elder.category_on(date(2026, 7, 15)) == Category.SELF_CARE
    assert elder.category_on(date(2026, 7, 16)) == Category.DISABLED
    assert [month_requirement(elder, m, CONFIG) for m in ("2026-06", "2026-07", "2026-08")] == [1, 3, 4]
    # Joining on 20 July as well: only the covered days owe, 12 at 4 of 31 → ceil(48/31) = 2.
    joined = Elder("e-1", "张大爷", Category.DISABLED, "汇龙镇", "p-a", since=date(2026, 7, 20), categories=history)
    assert month_requirement(joined, "2026-07", CONFIG) == 2
    # Without pro-rating, the month owes the full minimum of the highest category in force on any of its days.
    full = HomecareConfig(prorate_partial_months=False)
    assert [month_requirement(elder, m, full) for m in ("2026-06", "2026-07")] == [1, 4]
    down = Elder("e-2", "张大爷", Category.SELF_CARE, "汇龙镇", "p-a",
                 categories=(CategoryVersion(date(1970, 1, 1), Category.DISABLED),
                             CategoryVersion(date(2026, 7, 31), Category.SELF_CARE)))
    assert month_requirement(down, "2026-07", full) == 4  # reassessed down on the 31st: July still owed as 失能
    [line] = elder_months(down, [], ["2026-07"], [], CONFIG)
    assert (line.category, line.required) == (Category.SELF_CARE, 4)  # ceil((30 × 4 + 1) / 31) = 4
