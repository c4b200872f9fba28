"""Read the worker's derived results for display (placeholder until cloud/store/derived.py lands)."""

from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from cloud.api.schemas import DayOut, MonthOut
from cloud.store.models import Station


def today_states(session: Session, station_ids: Sequence[str], day: date) -> dict[str, tuple[str, float | None]]:
    return {}


def day_out(session: Session, station: Station, day: date) -> DayOut:
    raise NotImplementedError


def month_out(session: Session, station: Station, first: date, *, as_of: date) -> MonthOut:
    raise NotImplementedError
