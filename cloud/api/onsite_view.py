"""Spot-check results and on-site visits as the API shows them, and who may see which (one place for both
routers)."""

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.api.check_schemas import OnsiteOut, SpotCheckResultOut
from cloud.api.scope import station_condition
from cloud.derive.verdicts import window_end
from cloud.rules.onsite import outcome
from cloud.rules.spotcheck import SpotResult
from cloud.store.derived import SpotCheckPlan, SpotCheckResult
from cloud.store.models import Station
from cloud.store.onsite import SpotCheckVisit, visit_review
from cloud.store.users import User


def visible_station_ids(session: Session, user: User) -> set[str]:
    return set(session.scalars(select(Station.id).where(station_condition(user))))


def plans_for(user: User, plans: Iterable[SpotCheckPlan], now: datetime, timezone: str) -> list[SpotCheckPlan]:
    """The plans this supervisor may see now. The bureau sees all. A town sees the towns' own plans, and the
    bureau's only once the window has ended: a town told of the bureau's unannounced check in advance could warn
    its stations. (Which stations of a plan a town sees is the station scope's question.)"""
    if user.role == "bureau":
        return list(plans)
    towns = set(user.town_names)
    return [p for p in plans if is_town_plan(p, towns) or window_end(p, timezone) <= now]


def is_town_plan(plan: SpotCheckPlan, towns: Collection[str] | None = None) -> bool:
    """Whether a town planned this check (of one of `towns`, when given). Decided by what the plan recorded when it
    was made, never by its planner's account today: a bureau inspector later moved to a town must not turn the
    bureau's unannounced checks into the town's own, nor a town officer moved to the bureau hide the town's. A town
    plan naming no town (named stations) belongs to the towns of its stations, which the station scope decides."""
    if plan.planner_role != "town":
        return False
    return towns is None or plan.town is None or plan.town in towns


def onsite_out(visit: SpotCheckVisit | None) -> OnsiteOut | None:
    if visit is None:
        return None
    return OnsiteOut.model_validate(visit, from_attributes=True)


def result_out(result: SpotCheckResult, plan: SpotCheckPlan, station: Station,
               visit: SpotCheckVisit | None) -> SpotCheckResultOut:
    record = result.record
    decided = SpotResult(visit.decided_outcome) if visit is not None and visit.decided_outcome else None
    counted = outcome(SpotResult(result.result), decided)
    return SpotCheckResultOut(
        plan_id=plan.id, station=station.id, station_name=station.name, town=station.town, date=plan.local_date,
        start=plan.start, end=plan.end, result=counted.value if counted else result.result,
        sensor_result=result.result,
        reason_code=record.get("reason_code"), reason=record.get("reason"),
        checked_minutes=int(record.get("checked_minutes", 0)),
        open_minutes=int(record.get("open_minutes", 0)), closed_minutes=int(record.get("closed_minutes", 0)),
        unknown_minutes=int(record.get("unknown_minutes", 0)), stretches=list(record.get("stretches", [])),
        judged_at=result.judged_at, review=visit_review(result, visit).value, onsite=onsite_out(visit),
    )
