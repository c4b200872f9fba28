"""Counting visits: each elder's month against its category's minimum (with made-up months), each provider's month,
and the service items of a year. Pure functions of typed records and the configuration; the worker, the API and
`cloud derive` all call these.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from cloud.homecare.config import HomecareConfig
from cloud.homecare.months import month_of, previous_month
from cloud.homecare.orders import VOID_STATES, OrderState, counts, order_state
from cloud.homecare.records import Category, Elder, Visit
from cloud.homecare.service_period import month_category, month_requirement


class ElderMonth(BaseModel):
    """The `{"type": "elder_month", ...}` line: an elder's counted visits in a month against the minimum.

    `category` is the one in force on the month's last day in the service period (the history's, not today's).
    `required` is the category's minimum (pro-rated in a month the elder's service period covers in part, or whose
    category changed in it: `month_requirement`), plus
    the shortfall of the previous month when that month was missed for a recorded special reason (made up now); in
    such a month itself, `required` is what was done (the rest moves on). A month outside the service period has no
    line: it is not judged.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["elder_month"] = "elder_month"
    elder: str
    month: str
    category: Category
    visits: int
    minutes: int
    required: int
    met: bool


class ProviderMonth(BaseModel):
    """The `{"type": "provider_month", ...}` line: a provider's work orders in a month and its elders served."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["provider_month"] = "provider_month"
    provider: str
    month: str
    orders: int
    counted: int
    voided: int
    elders: int  # its elders whose service period covers some day of the month (those judged)
    elders_met: int


@dataclass(frozen=True, slots=True)
class _Tally:
    visits: int
    seconds: float


def _tallies(elder: Elder, visits: Iterable[Visit], config: HomecareConfig) -> dict[str, _Tally]:
    counted: dict[str, list[Visit]] = defaultdict(list)
    for visit in visits:
        if visit.elder == elder.id and counts(visit, config):
            counted[month_of(visit.sign_in, elder.timezone)].append(visit)
    return {m: _Tally(len(vs), sum((v.sign_out - v.sign_in).total_seconds() for v in vs if v.sign_out))
            for m, vs in counted.items()}


def elder_months(elder: Elder, visits: Iterable[Visit], months: Sequence[str], made_up: Iterable[str],
                 config: HomecareConfig) -> list[ElderMonth]:
    """The elder's line for each of `months` (ascending). `visits` may hold other elders' visits and other months
    (the month before the first is read for a made-up shortfall). `made_up`: months of this elder missed for a
    recorded special reason.

    A special month passes on only its own shortfall, and only to the next month: a second special month in a row
    does not pile the first one's onto the third (the policy makes up a month in the next one, no further).
    """
    tallies = _tallies(elder, visits, config)
    special = set(made_up) if config.make_up_next_month else set()
    lines = []
    for month in months:
        required = month_requirement(elder, month, config)
        if required is None:
            continue  # outside the service period: not judged
        tally = tallies.get(month, _Tally(0, 0))
        before = previous_month(month)
        if before in special:
            owed = month_requirement(elder, before, config) or 0
            required += max(0, owed - tallies.get(before, _Tally(0, 0)).visits)
        if month in special:
            required = min(required, tally.visits)
        lines.append(ElderMonth(elder=elder.id, month=month, category=month_category(elder, month), visits=tally.visits,
                                minutes=int(tally.seconds // 60), required=required,
                                met=tally.visits >= required))
    return lines


def provider_months(provider: str, elders: Sequence[Elder], visits: Iterable[Visit],
                    elder_lines: Iterable[ElderMonth], months: Sequence[str], config: HomecareConfig,
                    now: datetime) -> list[ProviderMonth]:
    """The provider's line for each of `months`: its orders by state (an order belongs to the month its sign-in
    falls in, in the elder's zone) and how many of its elders met their minimum. `elders`: the registry (its
    elders are those whose provider it is); `elder_lines`: their ElderMonth lines."""
    by_id = {e.id: e for e in elders}
    mine = {e.id for e in elders if e.provider == provider}
    states: dict[str, list[OrderState]] = defaultdict(list)
    for visit in visits:
        if visit.provider == provider and visit.elder in by_id:
            states[month_of(visit.sign_in, by_id[visit.elder].timezone)].append(order_state(visit, config, now))
    judged: dict[str, int] = defaultdict(int)
    met: dict[str, int] = defaultdict(int)
    for line in elder_lines:
        if line.elder in mine:
            judged[line.month] += 1
            met[line.month] += line.met
    return [ProviderMonth(provider=provider, month=m, orders=len(states[m]),
                          counted=sum(s == OrderState.COUNTED for s in states[m]),
                          voided=sum(s in VOID_STATES for s in states[m]), elders=judged[m],
                          elders_met=met[m]) for m in months]


class ItemsYear(BaseModel):
    """The different service items an elder got in a year's counted visits, against the minimum."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    elder: str
    year: int
    items: list[str]
    required: int
    met: bool


def items_year(elder: Elder, visits: Iterable[Visit], year: int, config: HomecareConfig) -> ItemsYear:
    """Items are counted from counted visits only: a voided or short order served nothing the policy pays for."""
    items = sorted({item for v in visits if v.elder == elder.id and counts(v, config)
                    and month_of(v.sign_in, elder.timezone).startswith(f"{year:04d}-") for item in v.items})
    return ItemsYear(elder=elder.id, year=year, items=items, required=config.min_items_per_year,
                     met=len(items) >= config.min_items_per_year)


def month_lines(elders: Sequence[Elder], visits: Sequence[Visit], months: Sequence[str],
                made_up: Mapping[str, Iterable[str]], config: HomecareConfig, now: datetime,
                providers: Iterable[str] = ()) -> tuple[list[ElderMonth], list[ProviderMonth]]:
    """Every elder's and provider's lines for `months`: what `cloud derive` prints and the API shows, from one
    function. Providers: those of the elders, of the visits, and `providers`; `made_up`: months per elder."""
    elder_lines = [line for e in sorted(elders, key=lambda e: e.id)
                   for line in elder_months(e, visits, months, made_up.get(e.id, ()), config)]
    every = sorted({e.provider for e in elders} | {v.provider for v in visits} | set(providers))
    provider_lines = [line for p in every for line in provider_months(p, elders, visits, elder_lines, months,
                                                                       config, now)]
    return elder_lines, provider_lines
