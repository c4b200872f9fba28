"""Counting visits: which orders count, each elder's month against its category's minimum (with made-up months),
each provider's month, and the service items of a year. Pure functions of typed records and the configuration; the
worker, the API and `cloud derive` all call these.
"""

import calendar
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

    `required` is the category's minimum (pro-rated in a month the elder's service period covers in part), plus
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


def period_days(elder: Elder, month: str) -> tuple[int, int]:
    """The days of `month` inside the elder's service period (since/until, both included) and the month's days."""
    year, number = int(month[:4]), int(month[5:])
    total = calendar.monthrange(year, number)[1]
    first, last = date(year, number, 1), date(year, number, total)
    start = max(first, elder.since) if elder.since else first
    end = min(last, elder.until) if elder.until else last
    return max(0, (end - start).days + 1), total


def month_requirement(elder: Elder, month: str, config: HomecareConfig) -> int | None:
    """The visits the elder's category requires in `month`, or None when the service period has no day in it (the
    month is not judged). A month covered in part requires the minimum times the covered share of its days, rounded
    up: joining on the 25th of a 30-day month, a disabled elder (4 a month) owes ceil(4 × 6/30) = 1 visit."""
    days, total = period_days(elder, month)
    if days == 0:
        return None
    base = config.required(elder.category)
    if days == total or not config.prorate_partial_months:
        return base
    return -(-base * days // total)  # integer ceiling: no float rounding at the boundary


class OutsidePeriod(BaseModel):
    """The `{"type": "outside_period", ...}` line: an order signed in on a day outside its elder's service period
    (`reason`: `before_since`, `after_until`). It is counted like any other order (in `visits`, `orders`): the line
    is a lead for the town to ask why an elder was served before joining or after leaving, not a penalty."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["outside_period"] = "outside_period"
    visit: str
    elder: str
    provider: str
    month: str
    day: date
    reason: Literal["before_since", "after_until"]


def outside_period(elders: Mapping[str, Elder], visits: Iterable[Visit],
                   months: Sequence[str]) -> list[OutsidePeriod]:
    """The orders of `months` (any state) signed in outside their elder's service period, by elder and time."""
    wanted, out = set(months), []
    for visit in sorted(visits, key=lambda v: (v.elder, v.sign_in, v.id)):
        elder = elders.get(visit.elder)
        if elder is None or month_of(visit.sign_in, elder.timezone) not in wanted:
            continue
        day = visit.sign_in.astimezone(ZoneInfo(elder.timezone)).date()
        reason: Literal["before_since", "after_until"] | None = (
            "before_since" if elder.since is not None and day < elder.since
            else "after_until" if elder.until is not None and day > elder.until else None)
        if reason is not None:
            out.append(OutsidePeriod(visit=visit.id, elder=elder.id, provider=visit.provider,
                                     month=month_of(visit.sign_in, elder.timezone), day=day, reason=reason))
    return out


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


def overlapping_visit(start: datetime, end: datetime | None,
                      others: Iterable[tuple[str, datetime, datetime]]) -> str | None:
    """The key of the first of `others` (key, sign-in, sign-out: one caregiver's signed-out visits of one elder)
    whose span overlaps [start, end); with no `end`, the first that contains the instant `start`. One caregiver
    cannot be at the same elder's twice at once: a second order over the first is the same hour claimed twice.
    Back to back (one signed out the second the next is signed in) is no overlap."""
    for key, other_start, other_end in sorted(others, key=lambda o: (o[1], o[0])):
        if end is None:
            if other_start <= start < other_end:
                return key
        elif start < other_end and other_start < end:
            return key
    return None
