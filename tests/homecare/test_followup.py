"""The follow-up sample (size, reproducibility, top-ups) and the satisfaction and complaint thresholds at their
boundaries."""

import random
from datetime import UTC, datetime

import pytest

from cloud.homecare.config import HomecareConfig
from cloud.homecare.followup import (
    Consequence,
    complaint_consequence,
    draw_sample,
    rank,
    renewal_years,
    sample_size,
    satisfaction_consequence,
    satisfaction_rate,
    survey_consequence,
)
from cloud.homecare.records import FollowUpResult, Satisfaction

CONFIG = HomecareConfig()
AT = datetime(2026, 10, 5, tzinfo=UTC)


@pytest.mark.parametrize(("orders", "size"), [(0, 0), (1, 1), (9, 1), (10, 1), (11, 2), (20, 2), (21, 3),
                                              (100, 10), (101, 11)])
def test_the_sample_is_at_least_ten_percent_rounded_up(orders: int, size: int) -> None:
    assert sample_size(orders, 0.10) == size
    keys = [f"order-{i:04d}" for i in range(orders)]
    drawn = draw_sample(keys, "seed-1", 0.10)
    assert len(drawn) == size and len(set(drawn)) == size and set(drawn) <= set(keys)


def test_the_sample_is_reproducible_from_the_recorded_seed_and_auditable() -> None:
    keys = [f"order-{i:04d}" for i in range(57)]
    drawn = draw_sample(keys, "5f1c0a", 0.10)
    shuffled = keys[:]
    random.Random(7).shuffle(shuffled)
    assert draw_sample(shuffled, "5f1c0a", 0.10) == drawn  # the order the orders come in does not matter
    assert draw_sample(keys, "another-seed", 0.10) != drawn  # the seed does
    # An auditor redraws it with nothing but SHA-256: the lowest hashes of "seed:key".
    import hashlib
    by_hash = sorted(keys, key=lambda k: hashlib.sha256(f"5f1c0a:{k}".encode()).hexdigest())
    assert drawn == by_hash[:6] and rank("5f1c0a", drawn[0]) == hashlib.sha256(
        f"5f1c0a:{drawn[0]}".encode()).hexdigest()


def test_orders_arriving_after_the_draw_are_topped_up_and_the_drawn_ones_kept() -> None:
    keys = [f"order-{i:04d}" for i in range(30)]
    first = draw_sample(keys, "s", 0.10)
    late = [f"late-{i:02d}" for i in range(15)]  # a provider holding orders back until after the draw
    topped = draw_sample(keys + late, "s", 0.10, already=first)
    assert topped[:3] == first and len(topped) == 5  # 45 orders -> 5 calls; the first 3 are never undrawn
    assert draw_sample(keys + late, "s", 0.10, already=topped) == topped


def _answers(satisfied: int, basic: int, unsatisfied: int, unreached: int = 0) -> list[FollowUpResult]:
    out: list[FollowUpResult] = []
    for count, answer in ((satisfied, Satisfaction.SATISFIED), (basic, Satisfaction.BASIC),
                          (unsatisfied, Satisfaction.UNSATISFIED)):
        out += [FollowUpResult(f"v{len(out) + i}", "p-a", AT, True, answer) for i in range(count)]
    out += [FollowUpResult(f"u{i}", "p-a", AT, False) for i in range(unreached)]
    return out


def test_satisfaction_counts_answered_calls_and_basic_as_satisfied() -> None:
    assert satisfaction_rate(_answers(80, 10, 10, unreached=50), CONFIG) == (100, 90, 0.9)
    strict = HomecareConfig(basic_counts_as_satisfied=False)
    assert satisfaction_rate(_answers(80, 10, 10), strict) == (100, 80, 0.8)
    assert satisfaction_rate(_answers(0, 0, 0, unreached=3), CONFIG) == (0, 0, None)


@pytest.mark.parametrize(("rate", "consequence"), [
    (0.95, Consequence.OK), (0.90, Consequence.OK), (0.8999, Consequence.RECTIFY), (0.85, Consequence.RECTIFY),
    (0.8499, Consequence.MAY_TERMINATE), (None, Consequence.NO_DATA)])
def test_satisfaction_thresholds(rate: float | None, consequence: Consequence) -> None:
    assert satisfaction_consequence(rate, CONFIG) == consequence


@pytest.mark.parametrize(("rate", "years"), [(0.9499, 1), (0.95, 2), (1.0, 2), (0.90, 1), (0.8999, 0), (None, None)])
def test_renewal_outlook_from_the_years_satisfaction(rate: float | None, years: int | None) -> None:
    assert renewal_years(rate, CONFIG) == years


def test_valid_complaints_at_most_2_5_percent_and_twice_above_5_percent_in_a_row() -> None:
    assert complaint_consequence([0.025], CONFIG) == Consequence.OK  # 以内: 2.5 % itself is within
    assert complaint_consequence([0.0251], CONFIG) == Consequence.RECTIFY
    assert complaint_consequence([0.06], CONFIG) == Consequence.RECTIFY  # once above 5 %: not yet termination
    assert complaint_consequence([0.06, 0.051], CONFIG) == Consequence.MAY_TERMINATE
    assert complaint_consequence([0.06, 0.05], CONFIG) == Consequence.RECTIFY  # 5 % is not above 5 %
    assert complaint_consequence([0.06, 0.01, 0.06], CONFIG) == Consequence.RECTIFY  # not consecutive
    assert complaint_consequence([0.06, None], CONFIG) == Consequence.NO_DATA  # a month without orders
    assert complaint_consequence([None, 0.06], CONFIG) == Consequence.RECTIFY


def test_town_quarterly_survey_below_80_percent() -> None:
    assert survey_consequence(50, 40, CONFIG) == Consequence.OK
    assert survey_consequence(50, 39, CONFIG) == Consequence.RECTIFY
    assert survey_consequence(0, 0, CONFIG) == Consequence.NO_DATA
