"""Spot checks: plans (unannounced, never shown to stations: the bureau plans for any stations, a town for its
own), results with the on-site record beside them, and the veto list."""

from collections import Counter
from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import extract, select
from sqlalchemy.orm import Session

from cloud.api.check_schemas import SpotCheckIn, SpotCheckPlanOut, SpotCheckResultOut, VetoOut
from cloud.api.deps import ConfigDep, RuntimeDep, SessionDep, StationViewer, SupervisorUser
from cloud.api.onsite_view import plans_for, result_out, visible_station_ids
from cloud.api.scope import station_condition
from cloud.derive.plans import PlanError, create_plan
from cloud.rules.onsite import SETTLED, Review
from cloud.store.derived import SpotCheckPlan, SpotCheckResult, Veto
from cloud.store.models import Station
from cloud.store.onsite import SpotCheckVisit, counted_result, visit_join
from cloud.store.users import User

router = APIRouter(prefix="/spot-checks", tags=["spot checks"])
Year = Annotated[int | None, Query(ge=2020, le=2100)]
StationFilter = Annotated[str | None, Query(max_length=63)]
RESULT_HELP = "the result that counts (the bureau's decision, else the sensors')"


def _plan_out(session: Session, plan: SpotCheckPlan, visible: set[str] | None) -> SpotCheckPlanOut:
    """The plan as this user may see it: a town sees only its own stations of a wider plan, and their results."""
    query = (select(SpotCheckResult.station_id, counted_result()).select_from(SpotCheckResult)
             .outerjoin(SpotCheckVisit, visit_join()).where(SpotCheckResult.plan_id == plan.id))
    results = Counter(r for sid, r in session.execute(query).tuples() if visible is None or sid in visible)
    stations = [s for s in plan.stations if visible is None or s in visible]
    return SpotCheckPlanOut(
        id=plan.id, date=plan.local_date, start=plan.start, end=plan.end, scope=plan.scope, town=plan.town,
        sample=plan.sample, seed=plan.seed, stations=stations, created_by=plan.created_by,
        created_at=plan.created_at, planner_role=plan.planner_role, results=dict(results),
    )


def _visible(session: Session, user: User) -> set[str] | None:
    """None for the bureau (every station); a town officer's stations otherwise."""
    return None if user.role == "bureau" else visible_station_ids(session, user)


@router.get("", response_model=list[SpotCheckPlanOut])
def list_plans(user: SupervisorUser, session: SessionDep, config: ConfigDep, runtime: RuntimeDep,
               year: Year = None) -> list[SpotCheckPlanOut]:
    query = select(SpotCheckPlan).order_by(SpotCheckPlan.local_date.desc(), SpotCheckPlan.id.desc()).limit(1000)
    if year is not None:
        query = query.where(SpotCheckPlan.local_date.between(date(year, 1, 1), date(year, 12, 31)))
    visible = _visible(session, user)
    plans = [p for p in plans_for(user, session.scalars(query), config.clock(), runtime.settings.timezone)
             if visible is None or visible & set(p.stations)]
    return [_plan_out(session, p, visible) for p in plans]


def _town_may_plan(session: Session, user: User, body: SpotCheckIn, scope: str) -> None:
    """A town plans checks of its own stations only: its town (all of it, or a random draw from it) or named
    stations of it. A station outside its scope is refused like one that does not exist."""
    if scope == "all" or (scope in ("town", "random") and body.town is None):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a town plans checks of its own town: give the town")
    if body.town is not None and body.town not in user.town_names:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{body.town} is not one of your towns")
    if scope == "stations":
        unknown = sorted(set(body.stations or []) - visible_station_ids(session, user))
        if unknown:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown stations: {', '.join(unknown)}")


@router.post("", response_model=SpotCheckPlanOut, status_code=status.HTTP_201_CREATED, responses={422: {}})
def plan_spot_check(body: SpotCheckIn, user: SupervisorUser, session: SessionDep, config: ConfigDep,
                    runtime: RuntimeDep) -> SpotCheckPlanOut:
    scope = body.scope or (
        "random" if body.sample else "town" if body.town else "stations" if body.stations else "all"
    )
    if user.role == "town":
        _town_may_plan(session, user, body, scope)
    try:
        plan = create_plan(
            session, day=body.date, start=body.start, end=body.end, scope=scope, created_by=user.name,
            now=config.clock(), town=body.town, sample=body.sample, seed=body.seed, stations=body.stations,
            today=config.today(runtime.settings.timezone), planner_role=user.role,
        )
    except PlanError as exc:
        session.rollback()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    session.commit()
    return _plan_out(session, plan, _visible(session, user))


@router.get("/results", response_model=list[SpotCheckResultOut])
def list_results(
    user: StationViewer, session: SessionDep, config: ConfigDep, year: Year = None, station: StationFilter = None,
    result: Annotated[str | None, Query(pattern=r"^(pass|fail|excused|unverifiable)$", description=RESULT_HELP)] = None,
) -> list[SpotCheckResultOut]:
    """Results in scope. Station staff see only their station's settled results of days that are over: never a
    check still waiting for an inspector, a disputed one before the bureau decides, or today's."""
    query = (
        select(SpotCheckResult, SpotCheckPlan, Station, SpotCheckVisit)
        .join(SpotCheckPlan, SpotCheckPlan.id == SpotCheckResult.plan_id)
        .join(Station, Station.id == SpotCheckResult.station_id)
        .outerjoin(SpotCheckVisit, visit_join())
        .where(station_condition(user))
    )
    if year is not None:
        query = query.where(extract("year", SpotCheckPlan.local_date) == year)
    if station is not None:
        query = query.where(SpotCheckResult.station_id == station)
    if result is not None:
        query = query.where(counted_result() == result)
    rows = session.execute(query.order_by(SpotCheckPlan.local_date.desc(), Station.id).limit(5000)).tuples()
    out = [result_out(r, p, s, v) for r, p, s, v in rows]
    if user.role == "station":
        over = {s.id: config.today(s.timezone) for s in session.scalars(select(Station).where(station_condition(user)))}
        out = [r for r in out if Review(r.review) in SETTLED and r.date < over[r.station]]
    return out


@router.get("/vetoes", response_model=list[VetoOut])
def list_vetoes(
    user: SupervisorUser, session: SessionDep, year: Year = None, only_vetoed: bool = False
) -> list[VetoOut]:
    query = select(Veto, Station).join(Station, Station.id == Veto.station_id).where(station_condition(user))
    if year is not None:
        query = query.where(Veto.year == year)
    if only_vetoed:
        query = query.where(Veto.veto.is_(True))
    rows = session.execute(query.order_by(Veto.year.desc(), Veto.failed.desc(), Station.id)).tuples()
    return [
        VetoOut(station=s.id, station_name=s.name, town=s.town, year=v.year, failed=v.failed, veto=v.veto,
                failed_dates=list(v.failed_dates))
        for v, s in rows
    ]


@router.get("/{plan_id}", response_model=SpotCheckPlanOut, responses={404: {}})
def get_plan(plan_id: Annotated[int, Path(ge=1, le=2**62)], user: SupervisorUser, session: SessionDep,
             config: ConfigDep, runtime: RuntimeDep) -> SpotCheckPlanOut:
    plan = session.get(SpotCheckPlan, plan_id)
    visible = _visible(session, user)
    if plan is None or (visible is not None and not visible & set(plan.stations)) or not plans_for(
            user, [plan], config.clock(), runtime.settings.timezone):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no spot-check plan {plan_id} in your scope")
    return _plan_out(session, plan, visible)
