"""The dates and times the API takes in, bounded to the years the platform keeps.

Every date and time in a request (a body field, a query or path parameter) is one of these types, so none can reach
the calendar's edge, where converting to UTC or adding a day overflows (year 1 at +14:00, 9999-12-31 at -14:00)
and a database cannot store the result: 422 with the reason instead of a 500. A time needs its UTC offset (a time
without one cannot be judged) and is taken in UTC; its year, and a date's, lies in 2000..2100: nothing the platform
records, plans or reads back lies outside.
"""

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

FIRST_YEAR, LAST_YEAR = 2000, 2100
EARLIEST, LATEST = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
BOUNDS = f"{FIRST_YEAR}..{LAST_YEAR}"


def in_years(day: date) -> date:
    """`day`, or a ValueError naming it when it lies outside the years the platform keeps."""
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"{day.isoformat()} is outside {BOUNDS}")
    return day


def in_utc(moment: datetime) -> datetime:
    """`moment` (aware) in UTC, or a ValueError naming it when UTC is outside the years the platform keeps."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # the calendar's edge: year 1 ahead of UTC, year 9999 behind it
        raise ValueError(f"{moment.isoformat()} is outside {BOUNDS} in UTC") from None
    if not FIRST_YEAR <= utc.year <= LAST_YEAR:
        raise ValueError(f"{moment.isoformat()} is outside {BOUNDS} in UTC")
    return utc


# A time with its UTC offset, as UTC, in 2000..2100 (the UTC year).
Moment = Annotated[AwareDatetime, AfterValidator(in_utc)]
# A date (a local day) in 2000..2100.
Day = Annotated[date, AfterValidator(in_years)]
