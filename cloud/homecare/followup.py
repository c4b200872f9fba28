"""Follow-up and satisfaction (回访与满意度): the day's follow-up sample, satisfaction and valid-complaint rates
against their thresholds, the contract consequences the policy names, and towns' quarterly surveys. Pure.

The sample is reproducible: each order's rank is the SHA-256 of `seed:key`, so anyone with the day's order keys and
the recorded seed redraws exactly the same orders (in any language, with no random generator's version to match).
"""

import hashlib
import math
from collections.abc import Iterable, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from cloud.homecare.config import HomecareConfig
from cloud.homecare.records import FollowUpResult, Satisfaction


def sample_size(orders: int, share: float) -> int:
    """At least `share` of `orders`, rounded up (10 % of 11 orders is 2 calls, never 1)."""
    return math.ceil(orders * share - 1e-9) if orders > 0 else 0


def rank(seed: str, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def draw_sample(keys: Iterable[str], seed: str, share: float, already: Sequence[str] = ()) -> list[str]:
    """The orders to follow up, in drawing order: `already` (drawn before, kept whatever happens) and then the
    lowest-ranked of the other keys until at least `share` of all the keys are drawn. Order-independent: the same
    keys and seed always give the same draw."""
    everything = sorted(set(keys) | set(already))
    drawn = [k for k in already if k in set(everything)]
    wanted = sample_size(len(everything), share) - len(drawn)
    if wanted <= 0:
        return drawn
    taken = set(drawn)
    rest = sorted((k for k in everything if k not in taken), key=lambda k: (rank(seed, k), k))
    return drawn + rest[:wanted]


class Consequence(StrEnum):
    """What a rate means for the provider's contract (never applied automatically: the bureau decides)."""

    OK = "ok"
    RECTIFY = "rectify"  # fix it within the configured days (限期整改)
    MAY_TERMINATE = "may_terminate"  # the contract may be ended (有权解除合同)
    NO_DATA = "no_data"


def satisfaction_rate(results: Iterable[FollowUpResult], config: HomecareConfig) -> tuple[int, int, float | None]:
    """(answers, satisfied answers, rate) of follow-up calls that reached the elder and got an answer."""
    answers = [r.satisfaction for r in results if r.reached and r.satisfaction is not None]
    good = {Satisfaction.SATISFIED, Satisfaction.BASIC} if config.basic_counts_as_satisfied else {
        Satisfaction.SATISFIED}
    satisfied = sum(a in good for a in answers)
    return len(answers), satisfied, (satisfied / len(answers) if answers else None)


def satisfaction_consequence(rate: float | None, config: HomecareConfig) -> Consequence:
    """未达85%: may terminate; 未达到90%: rectify; otherwise fine."""
    if rate is None:
        return Consequence.NO_DATA
    if rate < config.satisfaction_terminate_below:
        return Consequence.MAY_TERMINATE
    if rate < config.satisfaction_rectify_below:
        return Consequence.RECTIFY
    return Consequence.OK


def renewal_years(year_rate: float | None, config: HomecareConfig) -> int | None:
    """Years the contract may be renewed for on the year's satisfaction: 95%以上 two, 90%以上 one, else none.
    以上 includes the number itself (90.0 % renews). None without a rate (no follow-up answered all year): the
    outlook is unknown, not "no renewal"."""
    if year_rate is None:
        return None
    if year_rate >= config.renew_two_years_from:
        return 2
    if year_rate >= config.renew_one_year_from:
        return 1
    return 0


def complaint_rate(valid_complaints: int, orders: int) -> float | None:
    """Valid complaints per work order in the period; None without orders."""
    return valid_complaints / orders if orders else None


def complaint_consequence(rates: Sequence[float | None], config: HomecareConfig) -> Consequence:
    """The consequence for the last of consecutive monthly valid-complaint rates (oldest first): above the
    termination rate in the last `complaint_terminate_months` months in a row may end the contract; above the
    maximum (控制在2.5%以内: 2.5 % itself is within) requires rectification."""
    if not rates or rates[-1] is None:
        return Consequence.NO_DATA
    run = rates[-config.complaint_terminate_months:]
    if len(run) == config.complaint_terminate_months and all(
            r is not None and r > config.complaint_terminate_above for r in run):
        return Consequence.MAY_TERMINATE
    if rates[-1] > config.complaint_rate_max:
        return Consequence.RECTIFY
    return Consequence.OK


def survey_consequence(respondents: int, satisfied: int, config: HomecareConfig) -> Consequence:
    """A town's quarterly survey: below 80 % (低于80%) requires rectification."""
    if respondents <= 0:
        return Consequence.NO_DATA
    return Consequence.RECTIFY if satisfied / respondents < config.town_survey_rectify_below else Consequence.OK


class ProviderPeriod(BaseModel):
    """A provider's follow-up, satisfaction and complaint figures for a month, quarter or year."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    period: str
    orders: int
    followed_up: int
    followup_share: float | None
    answers: int
    satisfied: int
    satisfaction: float | None
    satisfaction_consequence: Consequence
    complaints: int
    valid_complaints: int
    complaint_rate: float | None
    complaint_consequence: Consequence
    renewal_years: int | None  # years only


def provider_period(provider: str, period: str, orders: int, followed_up: int, results: Sequence[FollowUpResult],
                    complaints: int, valid_complaints: int, previous_rates: Sequence[float | None],
                    config: HomecareConfig, *, year: bool = False) -> ProviderPeriod:
    """One provider's figures. `previous_rates`: the valid-complaint rates of the months before (oldest first), for
    the consecutive-months rule; meaningful for a month only."""
    answers, satisfied, rate = satisfaction_rate(results, config)
    c_rate = complaint_rate(valid_complaints, orders)
    return ProviderPeriod(
        provider=provider, period=period, orders=orders, followed_up=followed_up,
        followup_share=round(followed_up / orders, 4) if orders else None, answers=answers, satisfied=satisfied,
        satisfaction=None if rate is None else round(rate, 4),
        satisfaction_consequence=satisfaction_consequence(rate, config), complaints=complaints,
        valid_complaints=valid_complaints, complaint_rate=None if c_rate is None else round(c_rate, 4),
        complaint_consequence=complaint_consequence([*previous_rates, c_rate], config),
        renewal_years=renewal_years(rate, config) if year else None,
    )
