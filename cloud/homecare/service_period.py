"""The elder's service period (since/until, both included) and its category's versions: what they make an elder owe
in a month the period covers whole, in part or not at all, and the orders signed in outside the period. Pure
functions of typed records and the configuration.
"""

import calendar
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from cloud.homecare.config import HomecareConfig
from cloud.homecare.months import month_of
from cloud.homecare.records import Category, Elder, Visit


def _covered(elder: Elder, month: str) -> tuple[date, date, int]:
    """The first and last day of `month` inside the elder's service period (start after end: none) and the month's
    number of days."""
    year, number = int(month[:4]), int(month[5:])
    total = calendar.monthrange(year, number)[1]
    first, last = date(year, number, 1), date(year, number, total)
    start = max(first, elder.since) if elder.since else first
    end = min(last, elder.until) if elder.until else last
    return start, end, total


def period_days(elder: Elder, month: str) -> tuple[int, int]:
    """The days of `month` inside the elder's service period (since/until, both included) and the month's days."""
    start, end, total = _covered(elder, month)
    return max(0, (end - start).days + 1), total


def month_category(elder: Elder, month: str) -> Category:
    """The category the elder's line of `month` shows: the one in force on the month's last day inside the service
    period (or the month's last day when the period has none in it)."""
    start, end, total = _covered(elder, month)
    return elder.category_on(end if start <= end else date(int(month[:4]), int(month[5:]), total))


def month_requirement(elder: Elder, month: str, config: HomecareConfig) -> int | None:
    """The visits the elder's category requires in `month`, or None when the service period has no day in it (the
    month is not judged).

    Each day of the month inside the service period owes its share (1/days of the month) of the minimum of the
    category in force on that day (`Elder.category_on`: a reassessment applies from its day on, never to the days
    before it); the month owes the sum, rounded up. A month covered whole by one category owes its minimum. A month
    covered in part: joining on the 25th of a 30-day month, a disabled elder (4 a month) owes ceil(4 × 6/30) = 1
    visit. A reassessment mid-month: self-care (1) to disabled (4) from 16 July owes ceil((15 × 1 + 16 × 4)/31) = 3.
    Without pro-rating (`prorate_partial_months` false) the month owes the full minimum of the highest category in
    force on any of its days inside the period, as a partial month owes the full minimum then."""
    start, end, total = _covered(elder, month)
    if end < start:
        return None
    minimums = [config.required(elder.category_on(start + timedelta(days=n)))
                for n in range((end - start).days + 1)]
    if not config.prorate_partial_months:
        return max(minimums)
    return -(-sum(minimums) // total)  # integer ceiling: no float rounding at the boundary


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
