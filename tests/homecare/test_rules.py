"""Each counting rule at its boundary: 59 and 60 minutes, 1/2/4 visits by category, a made-up month, 3 items a year;
months judged in the elder's zone; provider months."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from cloud.homecare.config import HomecareConfig
from cloud.homecare.counting import elder_months, items_year, provider_months
from cloud.homecare.months import month_of, months_between, previous_month
from cloud.homecare.orders import OrderState, order_state
from cloud.homecare.records import Category, Elder, Visit
from cloud.rules.config import RulesConfig

CST = timezone(timedelta(hours=8))
CONFIG = HomecareConfig()
NOW = datetime(2027, 1, 1, tzinfo=UTC)


def _elder(category: Category, eid: str = "e-1") -> Elder:
    return Elder(eid, "张大爷", category, "汇龙镇", "p-a")


def _visit(n: int, start: datetime, minutes: float, *, elder: str = "e-1", items: tuple[str, ...] = ("meal",),
           voided: bool = False, signed_out: bool = True) -> Visit:
    return Visit(f"v-{elder}-{n}", elder, "A001", "p-a", start, start + timedelta(minutes=minutes) if signed_out
                 else None, items, voided=voided)


def _month_visits(count: int, month: int = 10, minutes: float = 60, elder: str = "e-1") -> list[Visit]:
    return [_visit(100 * month + i, datetime(2026, month, 1 + i, 9, tzinfo=CST), minutes, elder=elder)
            for i in range(count)]


def test_59_minutes_do_not_count_60_do() -> None:
    at = datetime(2026, 10, 5, 9, tzinfo=CST)
    assert order_state(_visit(1, at, 59), CONFIG, NOW) == OrderState.SHORT
    assert order_state(_visit(2, at, 59 + 59 / 60), CONFIG, NOW) == OrderState.SHORT  # 59:59 is not an hour
    assert order_state(_visit(3, at, 60), CONFIG, NOW) == OrderState.COUNTED
    assert order_state(_visit(4, at, 120, voided=True), CONFIG, NOW) == OrderState.VOIDED
    assert order_state(_visit(5, at, 0, signed_out=False), CONFIG, at + timedelta(hours=11)) == OrderState.OPEN
    assert order_state(_visit(5, at, 0, signed_out=False), CONFIG, at + timedelta(hours=12)) == OrderState.NO_SIGN_OUT
    short = elder_months(_elder(Category.HIGH_AGE), [_visit(1, at, 59)], ["2026-10"], [], CONFIG)[0]
    assert (short.visits, short.minutes, short.met) == (0, 0, False)
    full = elder_months(_elder(Category.HIGH_AGE), [_visit(1, at, 60)], ["2026-10"], [], CONFIG)[0]
    assert (full.visits, full.minutes, full.met) == (1, 60, True)


@pytest.mark.parametrize(("category", "required"), [(Category.HIGH_AGE, 1), (Category.SELF_CARE, 1),
                                                    (Category.SEMI_DISABLED, 2), (Category.DISABLED, 4)])
def test_monthly_minimum_by_category_at_its_boundary(category: Category, required: int) -> None:
    elder = _elder(category)
    below = elder_months(elder, _month_visits(required - 1), ["2026-10"], [], CONFIG)[0]
    exact = elder_months(elder, _month_visits(required), ["2026-10"], [], CONFIG)[0]
    assert (below.required, below.visits, below.met) == (required, required - 1, False)
    assert (exact.required, exact.visits, exact.met) == (required, required, True)
    assert exact.minutes == 60 * required


def test_a_made_up_month_moves_its_shortfall_to_the_next_month_only() -> None:
    elder = _elder(Category.DISABLED)  # 4 a month
    visits = _month_visits(1, month=10) + _month_visits(7, month=11) + _month_visits(4, month=12)
    plain = elder_months(elder, visits, ["2026-10", "2026-11", "2026-12"], [], CONFIG)
    assert [(m.required, m.visits, m.met) for m in plain] == [(4, 1, False), (4, 7, True), (4, 4, True)]
    made_up = elder_months(elder, visits, ["2026-10", "2026-11", "2026-12"], ["2026-10"], CONFIG)
    # October (in hospital, recorded): excused; its 3 missing visits are due in November: 4 + 3 = 7, made up.
    assert [(m.required, m.visits, m.met) for m in made_up] == [(1, 1, True), (7, 7, True), (4, 4, True)]
    not_made_up = elder_months(elder, visits[:1] + visits[1:7], ["2026-11"], ["2026-10"], CONFIG)[0]
    assert (not_made_up.required, not_made_up.visits, not_made_up.met) == (7, 6, False)
    # The month before the first asked for is still read for its shortfall.
    assert elder_months(elder, visits, ["2026-11"], ["2026-10"], CONFIG)[0].required == 7
    # Switched off in the configuration: no month is excused.
    strict = HomecareConfig(make_up_next_month=False)
    assert elder_months(elder, visits, ["2026-10"], ["2026-10"], strict)[0].met is False


def test_two_special_months_in_a_row_do_not_pile_up() -> None:
    elder = _elder(Category.SEMI_DISABLED)  # 2 a month
    visits = _month_visits(4, month=12)
    lines = elder_months(elder, visits, ["2026-10", "2026-11", "2026-12"], ["2026-10", "2026-11"], CONFIG)
    assert [(m.required, m.visits, m.met) for m in lines] == [(0, 0, True), (0, 0, True), (4, 4, True)]


def test_a_month_is_the_elders_local_month() -> None:
    late = datetime(2026, 10, 31, 23, 30, tzinfo=CST)  # 15:30 UTC on the 31st; midnight passes in Shanghai first
    assert month_of(late, "Asia/Shanghai") == "2026-10"
    early = datetime(2026, 11, 1, 0, 30, tzinfo=CST)  # still 31 October in UTC
    assert month_of(early, "Asia/Shanghai") == "2026-11"
    lines = elder_months(_elder(Category.HIGH_AGE), [_visit(1, early, 60)], ["2026-10", "2026-11"], [], CONFIG)
    assert [(m.month, m.visits) for m in lines] == [("2026-10", 0), ("2026-11", 1)]
    assert months_between("2026-11", "2027-02") == ["2026-11", "2026-12", "2027-01", "2027-02"]
    assert previous_month("2027-01") == "2026-12"


def test_three_different_items_a_year() -> None:
    elder = _elder(Category.HIGH_AGE)
    at = datetime(2026, 3, 1, 9, tzinfo=CST)
    two = [_visit(1, at, 60, items=("meal", "cleaning")), _visit(2, at + timedelta(days=30), 60, items=("meal",)),
           _visit(3, at + timedelta(days=60), 30, items=("errands",))]  # a short visit served nothing countable
    assert items_year(elder, two, 2026, CONFIG).model_dump() == {
        "elder": "e-1", "year": 2026, "items": ["cleaning", "meal"], "required": 3, "met": False}
    three = [*two, _visit(4, at + timedelta(days=90), 60, items=("errands",))]
    assert items_year(elder, three, 2026, CONFIG).met is True
    assert items_year(elder, three, 2027, CONFIG).items == []


def test_provider_month_counts_orders_by_state() -> None:
    elders = [_elder(Category.HIGH_AGE, "e-1"), _elder(Category.SEMI_DISABLED, "e-2")]
    at = datetime(2026, 10, 5, 9, tzinfo=CST)
    visits = [_visit(1, at, 60), _visit(2, at + timedelta(days=1), 59), _visit(3, at, 70, elder="e-2"),
              _visit(4, at + timedelta(days=2), 90, voided=True), _visit(5, at + timedelta(days=3), 0,
                                                                         signed_out=False)]
    lines = [line for e in elders for line in elder_months(e, visits, ["2026-10"], [], CONFIG)]
    month = provider_months("p-a", elders, visits, lines, ["2026-10"], CONFIG, NOW)[0]
    assert month.model_dump() == {"type": "provider_month", "provider": "p-a", "month": "2026-10", "orders": 5,
                                  "counted": 2, "voided": 3, "elders": 2, "elders_met": 1}


def test_every_number_is_configurable_and_checked() -> None:
    config = RulesConfig.model_validate({"homecare": {"min_visit_minutes": 45, "monthly_minimum": {
        "high_age": 2, "self_care": 1, "semi_disabled": 3, "disabled": 8}}})
    assert config.homecare.required(Category.DISABLED) == 8
    at = datetime(2026, 10, 5, 9, tzinfo=CST)
    assert order_state(_visit(1, at, 45), config.homecare, NOW) == OrderState.COUNTED
    with pytest.raises(ValidationError, match="monthly_minimum has no value for disabled"):
        HomecareConfig.model_validate({"monthly_minimum": {"high_age": 1, "self_care": 1, "semi_disabled": 2}})
    with pytest.raises(ValidationError):
        HomecareConfig.model_validate({"min_visits": 60})  # a misspelt key is an error, not a silent default
