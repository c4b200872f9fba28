"""Counting visits: which orders count, each elder's month against its category's minimum (with made-up months),
each provider's month, and the service items of a year. Pure functions of typed records and the configuration; the
worker, the API and `cloud derive` all call these.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from cloud.homecare.config import HomecareConfig
from cloud.homecare.records import Category, Elder, Visit


class OrderState(StrEnum):
    """What became of a work order."""

    COUNTED = "counted"  # signed out, long enough, not voided
    SHORT = "short"  # signed out before the minimum length: void (作废单)
    NO_SIGN_OUT = "no_sign_out"  # never signed out, and too long ago to still be running: void
    VOIDED = "voided"  # voided by the provider or the platform (quality)
    OPEN = "open"  # signed in, not signed out yet, still plausibly running


VOID_STATES = frozenset({OrderState.SHORT, OrderState.NO_SIGN_OUT, OrderState.VOIDED})


def order_state(visit: Visit, config: HomecareConfig, now: datetime) -> OrderState:
    """The state of one order at `now`. The length is measured exactly: 59 min 59 s is short of an hour."""
    if visit.voided:
        return OrderState.VOIDED
    if visit.sign_out is None:
        late = now - visit.sign_in >= timedelta(hours=config.no_sign_out_hours)
        return OrderState.NO_SIGN_OUT if late else OrderState.OPEN
    if visit.sign_out - visit.sign_in >= timedelta(minutes=config.min_visit_minutes):
        return OrderState.COUNTED
    return OrderState.SHORT


def counts(visit: Visit, config: HomecareConfig) -> bool:
    """True when the visit counts toward the elder's monthly minimum."""
    return (not visit.voided and visit.sign_out is not None
            and visit.sign_out - visit.sign_in >= timedelta(minutes=config.min_visit_minutes))


def month_of(moment: datetime, zone: str) -> str:
    """The month (YYYY-MM) `moment` falls in, in `zone`: a visit signed in at 23:30 on 31 October in Shanghai is
    October's, whatever the UTC date."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local.year:04d}-{local.month:02d}"


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year - (number == 1):04d}-{(number - 2) % 12 + 1:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last`, inclusive."""
    out, month = [], first
    while month <= last:
        out.append(month)
        month = next_month(month)
    return out


def quarter_of(month: str) -> str:
    return f"{month[:4]}-Q{(int(month[5:]) - 1) // 3 + 1}"


class ElderMonth(BaseModel):
    """The `{"type": "elder_month", ...}` line: an elder's counted visits in a month against the minimum.

    `required` is the category's minimum, plus the shortfall of the previous month when that month was missed for a
    recorded special reason (made up now); in such a month itself, `required` is what was done (the rest moves on).
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
    elders: int
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
    base = config.required(elder.category)
    lines = []
    for month in months:
        tally = tallies.get(month, _Tally(0, 0))
        required = base
        before = previous_month(month)
        if before in special:
            required += max(0, base - tallies.get(before, _Tally(0, 0)).visits)
        if month in special:
            required = min(required, tally.visits)
        lines.append(ElderMonth(elder=elder.id, month=month, category=elder.category, visits=tally.visits,
                                minutes=int(tally.seconds // 60), required=required,
                                met=tally.visits >= required))
    return lines


def provider_months(provider: str, elders: Sequence[Elder], visits: Iterable[Visit],
                    elder_lines: Iterable[ElderMonth], months: Sequence[str], config: HomecareConfig,
                    now: datetime) -> list[ProviderMonth]:
    """The provider's line for each of `months`: its orders by state (an order belongs to the month its sign-in
    falls in, in the elder's zone) and how many of its elders met their minimum. `elders`: the registry (its
    elders are those whose provider it is); `elder_lines`: their ElderMonth lines."""
    zones = {e.id: e.timezone for e in elders}
    mine = {e.id for e in elders if e.provider == provider}
    states: dict[str, list[OrderState]] = defaultdict(list)
    for visit in visits:
        if visit.provider == provider and visit.elder in zones:
            states[month_of(visit.sign_in, zones[visit.elder])].append(order_state(visit, config, now))
    met: dict[str, int] = defaultdict(int)
    for line in elder_lines:
        if line.elder in mine and line.met:
            met[line.month] += 1
    return [ProviderMonth(provider=provider, month=m, orders=len(states[m]),
                          counted=sum(s == OrderState.COUNTED for s in states[m]),
                          voided=sum(s in VOID_STATES for s in states[m]), elders=len(mine),
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


def visit_months(elders: Mapping[str, Elder], visits: Iterable[Visit]) -> list[str]:
    """The months (in each elder's zone) the visits of known elders fall in, first to last, with the months between."""
    months = sorted({month_of(v.sign_in, elders[v.elder].timezone) for v in visits if v.elder in elders})
    return months_between(months[0], months[-1]) if months else []


def month_bounds(month: str, zone: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in `zone` (aware datetimes)."""
    tz = ZoneInfo(zone)
    first = date(int(month[:4]), int(month[5:]), 1)
    following = next_month(month)
    return (datetime.combine(first, datetime.min.time(), tz),
            datetime.combine(date(int(following[:4]), int(following[5:]), 1), datetime.min.time(), tz))


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
