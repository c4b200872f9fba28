"""The months home care is judged by: a moment's month in the elder's zone, the months before and after, a month's
bounds and the span of months some visits cover. Pure functions of `YYYY-MM` strings and aware datetimes.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cloud.homecare.records import Elder, Visit


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
