"""Home-care figures for a user's scope, read from the store and computed by the same functions as `cloud derive`:
per elder per month, per provider per month, quarter or year."""

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.homecare.config import HomecareConfig
from cloud.homecare.counting import ElderMonth, ItemsYear, ProviderMonth, items_year, month_lines
from cloud.homecare.followup import ProviderPeriod
from cloud.homecare.months import month_bounds, months_between, previous_month
from cloud.homecare.records import Elder
from cloud.homecare.scope import homecare_provider_condition
from cloud.homecare.service_period import OutsidePeriod, outside_period
from cloud.homecare.store.made_up import made_up_months
from cloud.homecare.store.registry import elder_records, list_elders
from cloud.homecare.store.visits import visit_record
from cloud.homecare.supervise import provider_period
from cloud.store.homecare import HomecareProvider, HomecareVisit
from cloud.store.users import User


def period_months(period: str) -> list[str]:
    """`2026-10` (a month), `2026-Q4` (a quarter) or `2026` (a year) as its months; ValueError otherwise."""
    if not period.isascii():
        raise ValueError(f"period {period!r} must be YYYY-MM, YYYY-Qn or YYYY")
    if len(period) == 7 and period[4] == "-" and period[:4].isdigit() and period[5:].isdigit() \
            and 1 <= int(period[5:]) <= 12:
        return [period]
    if len(period) == 7 and period[4:6] == "-Q" and period[:4].isdigit() and period[6] in "1234":
        first = (int(period[6]) - 1) * 3 + 1
        return months_between(f"{period[:4]}-{first:02d}", f"{period[:4]}-{first + 2:02d}")
    if len(period) == 4 and period.isdigit():
        return months_between(f"{period}-01", f"{period}-12")
    raise ValueError(f"period {period!r} must be YYYY-MM, YYYY-Qn or YYYY")


class ElderFigures(BaseModel):
    model_config = ConfigDict(extra="forbid")

    months: list[ElderMonth]
    items: list[ItemsYear]
    outside_period: list[OutsidePeriod]  # orders signed in outside their elder's service period (counted anyway)
    running: list[str] = Field(default_factory=list, description="the months asked for that are not over yet: an "
                               "elder short of the minimum there has not missed it yet")


class ProviderFigures(BaseModel):
    """A provider's figures for a period: its orders and elders per month (the provider_month lines), and its
    follow-up, satisfaction and complaint figures with their consequences (and, for a year, the renewal outlook)."""

    model_config = ConfigDict(extra="forbid")

    provider: str
    name: str
    town: str
    period: str
    orders: int
    counted: int
    voided: int
    elder_months: int = Field(description="its elders' months judged: the months of the period that are over (an "
                                          "elder's minimum is met or missed once the month ends)")
    elder_months_met: int
    running: list[str] = Field(default_factory=list, description="the period's months not over yet, left out of "
                               "elder_months (their orders are counted)")
    months: list[ProviderMonth]
    service: ProviderPeriod


def _current_month(now: datetime, zone: str) -> str:
    """`now`'s month in the deployment's zone: it and the months after it are not over, so not judged yet."""
    return f"{now.astimezone(ZoneInfo(zone)):%Y-%m}"


def _towns(user: User) -> list[str] | None:
    return user.town_names if user.role == "town" else None


def _scoped(session: Session, user: User, months: Sequence[str], zone: str, provider: str | None = None,
            town: str | None = None) -> tuple[list[Elder], list[HomecareVisit]]:
    """The user's elders (of `provider` / `town` if given) and their visits from the month before the first
    (read for a made-up shortfall) to the last."""
    elders = elder_records(session, list_elders(session, user, provider=provider, town=town))
    start, _ = month_bounds(previous_month(months[0]), zone)
    _, end = month_bounds(months[-1], zone)
    ids = [e.id for e in elders]
    visits = list(session.scalars(select(HomecareVisit).where(HomecareVisit.elder_id.in_(ids),
                                                              HomecareVisit.sign_in_at >= start,
                                                              HomecareVisit.sign_in_at < end))) if ids else []
    return elders, visits


def elder_figures(session: Session, user: User, months: Sequence[str], config: HomecareConfig, now: datetime,
                  zone: str, provider: str | None = None, town: str | None = None) -> ElderFigures:
    elders, rows = _scoped(session, user, months, zone, provider, town)
    visits = [visit_record(v) for v in rows]
    made_up: dict[str, set[str]] = {}
    for m in made_up_months(session, [e.id for e in elders]):
        made_up.setdefault(m.elder, set()).add(m.month)
    lines, _ = month_lines(elders, visits, months, made_up, config, now)
    year = int(months[-1][:4])
    # The items rule is a year's: read the whole year of the last month asked for.
    y_start, _ = month_bounds(f"{year}-01", zone)
    _, y_end = month_bounds(f"{year}-12", zone)
    ids = [e.id for e in elders]
    year_visits = [visit_record(v) for v in session.scalars(select(HomecareVisit).where(
        HomecareVisit.elder_id.in_(ids), HomecareVisit.sign_in_at >= y_start,
        HomecareVisit.sign_in_at < y_end))] if ids else []
    current = _current_month(now, zone)
    return ElderFigures(months=lines, items=[items_year(e, year_visits, year, config) for e in elders],
                        outside_period=outside_period({e.id: e for e in elders}, visits, months),
                        running=[m for m in months if m >= current])


def provider_figures(session: Session, user: User, period: str, config: HomecareConfig, now: datetime,
                     zone: str) -> list[ProviderFigures]:
    months = period_months(period)
    current = _current_month(now, zone)
    providers = session.scalars(select(HomecareProvider).where(homecare_provider_condition(user))
                                .order_by(HomecareProvider.id)).all()
    out = []
    for provider in providers:
        elders, rows = _scoped(session, user, months, zone, provider=provider.id)
        visits = [visit_record(v) for v in rows]
        made_up: dict[str, set[str]] = {}
        for m in made_up_months(session, [e.id for e in elders]):
            made_up.setdefault(m.elder, set()).add(m.month)
        _, lines = month_lines(elders, visits, months, made_up, config, now, providers=[provider.id])
        lines = [line for line in lines if line.provider == provider.id]
        service = provider_period(session, provider.id, months[0], months[-1], config, zone, _towns(user))
        out.append(ProviderFigures(
            provider=provider.id, name=provider.name, town=provider.town, period=period,
            orders=sum(m.orders for m in lines), counted=sum(m.counted for m in lines),
            voided=sum(m.voided for m in lines), elder_months=sum(m.elders for m in lines if m.month < current),
            elder_months_met=sum(m.elders_met for m in lines if m.month < current),
            running=[m for m in months if m >= current], months=lines, service=service))
    return out
