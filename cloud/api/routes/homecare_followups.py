"""Home-care follow-up calls (回访): a call's result on a work order, and each finished day's sample of orders the
platform's staff call back (drawn by the worker, or at once by the bureau).
"""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from cloud.api.deps import ConfigDep, RulesDep, RuntimeDep, SessionDep
from cloud.api.errors import homecare_refusals
from cloud.api.homecare_deps import Bureau, Key, Manager, Supervisor, now
from cloud.api.moments import Day, Moment
from cloud.api.scope import homecare_visit_condition
from cloud.homecare import supervise
from cloud.homecare.records import Satisfaction
from cloud.homecare.store.visits import get_visit
from cloud.store.homecare import FollowUp, FollowUpSample, HomecareVisit, row_dict

router = APIRouter(prefix="/homecare", tags=["homecare"])


class FollowUpIn(BaseModel):
    called_at: Moment | None = Field(default=None, description="when the call was made; default: now")
    reached: bool
    satisfaction: Satisfaction | None = None
    notes: Annotated[str, Field(max_length=2000)] = ""


@router.post("/visits/{key}/followups", status_code=status.HTTP_201_CREATED)
def add_followup(key: Key, body: FollowUpIn, user: Manager, session: SessionDep,
                 config: ConfigDep) -> dict[str, Any]:
    """A follow-up call's result: by the bureau's or a town's staff (the platform's), or by the provider about its
    own orders (which do not count toward its satisfaction)."""
    with homecare_refusals():
        visit = get_visit(session, user, key)
        row = supervise.record_followup(session, visit, by=user.name,
                                        by_role="provider" if user.role == "provider" else "platform",
                                        called_at=body.called_at or now(config), reached=body.reached,
                                        satisfaction=body.satisfaction, notes=body.notes, now=now(config))
    session.commit()
    return row_dict(row)


@router.get("/followups/samples/{day}")
def sample(day: Day, user: Supervisor, session: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """The day's follow-up sample (the orders to call, in drawing order; those in your scope), with its seed.
    `orders` and `size` count the day's orders and the sample's in your scope too: a town is told nothing of
    another town's work (`scoped` says the figures are a part of the whole)."""
    row = session.get(FollowUpSample, day)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sample drawn for {day}")
    visible = set(session.scalars(select(HomecareVisit.key).where(HomecareVisit.key.in_(row.visit_keys),
                                                                  homecare_visit_condition(user))))
    called = set(session.scalars(select(HomecareVisit.key).join(FollowUp, FollowUp.visit_id == HomecareVisit.id)
                                 .where(HomecareVisit.key.in_(visible), FollowUp.by_role == "platform")))
    scoped = user.role != "bureau"
    orders = row.orders
    if scoped:
        start, end = supervise.day_bounds(day, runtime.settings.timezone)
        orders = session.scalar(select(func.count()).select_from(HomecareVisit).where(
            HomecareVisit.sign_in_at >= start, HomecareVisit.sign_in_at < end, homecare_visit_condition(user))) or 0
    return {"day": row.day, "seed": row.seed, "share": row.share, "orders": orders, "drawn_at": row.drawn_at,
            "drawn_by": row.drawn_by, "size": len(visible) if scoped else len(row.visit_keys), "scoped": scoped,
            "visits": [{"key": k, "called": k in called} for k in row.visit_keys if k in visible]}


@router.post("/followups/samples/{day}", status_code=status.HTTP_201_CREATED)
def draw(day: Day, user: Bureau, session: SessionDep, config: ConfigDep, rules: RulesDep,
         runtime: RuntimeDep) -> dict[str, Any]:
    """Draw (or top up) a finished day's sample now instead of waiting for the worker."""
    zone = runtime.settings.timezone
    if day >= config.today(zone):
        raise HTTPException(status.HTTP_409_CONFLICT, f"{day} is not over yet")
    row = supervise.draw_day_sample(session, day, zone, rules.homecare.followup_share, user.name, now(config))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no work orders on {day}")
    session.commit()
    return sample(day, user, session, runtime)
