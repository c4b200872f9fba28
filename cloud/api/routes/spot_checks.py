"""Spot checks: plans (bureau only — unannounced, never shown to stations), results and the veto list."""

from collections import Counter
from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import extract, select
from sqlalchemy.orm import Session

from cloud.api.deps import BureauUser, ConfigDep, RuntimeDep, SessionDep, SupervisorUser
from cloud.api.schemas import SpotCheckIn, SpotCheckPlanOut, SpotCheckResultOut, VetoOut
from cloud.api.scope import station_condition
from cloud.derive.plans import PlanError, create_plan
from cloud.store.derived import SpotCheckPlan, SpotCheckResult, Veto
from cloud.store.models import Station

router = APIRouter(prefix="/spot-checks", tags=["spot checks"])
Year = Annotated[int | None, Query(ge=2020, le=2100)]
_OWN_FIELDS = ("type", "station", "date", "start", "end", "result", "reason_code", "reason")
StationFilter = Annotated[str | None, Query(max_length=63)]


def _plan_out(session: Session, plan: SpotCheckPlan) -> SpotCheckPlanOut:
    results = Counter(session.scalars(select(SpotCheckResult.result).where(SpotCheckResult.plan_id == plan.id)))
    return SpotCheckPlanOut(
        id=plan.id, date=plan.local_date, start=plan.start, end=plan.end, scope=plan.scope, town=plan.town,
        sample=plan.sample, seed=plan.seed, stations=list(plan.stations), created_by=plan.created_by,
        created_at=plan.created_at, results=dict(results),
    )


@router.get("", response_model=list[SpotCheckPlanOut])
def list_plans(user: BureauUser, session: SessionDep, year: Year = None) -> list[SpotCheckPlanOut]:
    query = select(SpotCheckPlan).order_by(SpotCheckPlan.local_date.desc(), SpotCheckPlan.id.desc()).limit(1000)
    if year is not None:
        query = query.where(SpotCheckPlan.local_date.between(date(year, 1, 1), date(year, 12, 31)))
    return [_plan_out(session, p) for p in session.scalars(query)]


@router.post("", response_model=SpotCheckPlanOut, status_code=status.HTTP_201_CREATED, responses={422: {}})
def plan_spot_check(body: SpotCheckIn, user: BureauUser, session: SessionDep, config: ConfigDep,
                    runtime: RuntimeDep) -> SpotCheckPlanOut:
    scope = body.scope or (
        "random" if body.sample else "town" if body.town else "stations" if body.stations else "all"
    )
    try:
        plan = create_plan(
            session, day=body.date, start=body.start, end=body.end, scope=scope, created_by=user.name,
            now=config.clock(), town=body.town, sample=body.sample, seed=body.seed, stations=body.stations,
            today=config.today(runtime.settings.timezone),
        )
    except PlanError as exc:
        session.rollback()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    session.commit()
    return _plan_out(session, plan)


@router.get("/results", response_model=list[SpotCheckResultOut])
def list_results(
    user: SupervisorUser, session: SessionDep, year: Year = None, station: StationFilter = None,
    result: Annotated[str | None, Query(pattern=r"^(pass|fail|excused|unverifiable)$")] = None,
) -> list[SpotCheckResultOut]:
    query = (
        select(SpotCheckResult, SpotCheckPlan, Station)
        .join(SpotCheckPlan, SpotCheckPlan.id == SpotCheckResult.plan_id)
        .join(Station, Station.id == SpotCheckResult.station_id)
        .where(station_condition(user))
    )
    if year is not None:
        query = query.where(extract("year", SpotCheckPlan.local_date) == year)
    if station is not None:
        query = query.where(SpotCheckResult.station_id == station)
    if result is not None:
        query = query.where(SpotCheckResult.result == result)
    rows = session.execute(query.order_by(SpotCheckPlan.local_date.desc(), Station.id).limit(5000)).tuples()
    return [
        SpotCheckResultOut(
            **{k: v for k, v in r.record.items() if k not in _OWN_FIELDS},
            plan_id=p.id, station=s.id, station_name=s.name, town=s.town, date=p.local_date, start=p.start,
            end=p.end, result=r.result, reason_code=r.record.get("reason_code"),
            reason=r.record.get("reason"),
        )
        for r, p, s in rows
    ]


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
def get_plan(plan_id: Annotated[int, Path(ge=1, le=2**62)], user: BureauUser, session: SessionDep) -> SpotCheckPlanOut:
    plan = session.get(SpotCheckPlan, plan_id)
    if plan is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no spot-check plan {plan_id}")
    return _plan_out(session, plan)
