"""Closure requests (停业/闭站申请): station staff ask, the town or the bureau decides, the bureau sees all.

Station staff see only their own station's closures; a town officer, its towns'. The approved days are exported as
the `station,date,reason` CSV that `eldercare cloud derive --exceptions` reads, so an audit recompute uses the same
closures as the platform.
"""

import csv
import io
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select

from cloud.api import moments
from cloud.api.deps import BureauUser, ConfigDep, CurrentUser, SessionDep, StationViewer, SupervisorUser
from cloud.api.schemas import FromDay, ToDay
from cloud.api.scope import get_visible_station, station_condition
from cloud.api.sheets import safe_cell
from cloud.derive.storeio import mark_dirty
from cloud.store.closures import MAX_DAYS, Closure, ClosureStatus, approve, decide_late, reject
from cloud.store.locks import hold_row
from cloud.store.models import Station, StationException

router = APIRouter(prefix="/closures", tags=["closures"])
Text = Annotated[str, Field(min_length=1, max_length=500)]
ClosureId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


class ClosureIn(BaseModel):
    first_day: moments.Day
    last_day: moments.Day
    reason: Text

    @model_validator(mode="after")
    def _range(self) -> "ClosureIn":
        if self.last_day < self.first_day:
            raise ValueError("last_day is before first_day")
        if (self.last_day - self.first_day).days >= MAX_DAYS:
            raise ValueError(f"a closure covers at most {MAX_DAYS} days")
        return self


class DecisionIn(BaseModel):
    reason: Text


class LateDecisionIn(BaseModel):
    excuse: bool = Field(description="true: the judged days are excused too (the failed checks no longer count)")
    reason: Text


class ClosureOut(BaseModel):
    id: int
    station: str
    station_name: str
    town: str
    first_day: date
    last_day: date
    reason: str
    status: Literal["requested", "approved", "rejected"]
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    late: bool = Field(description="approved after a spot check had begun on or judged some of its days")
    late_days: list[date] = Field(description="those days: not excused unless the bureau decides so")
    late_excused: bool | None
    late_decided_by: str | None
    late_decided_at: datetime | None
    late_decision_reason: str | None


def _out(closure: Closure, station: Station) -> ClosureOut:
    return ClosureOut(
        id=closure.id, station=closure.station_id, station_name=station.name, town=station.town,
        first_day=closure.first_day, last_day=closure.last_day, reason=closure.reason,
        status=closure.status,
        requested_by=closure.requested_by, requested_at=closure.requested_at, decided_by=closure.decided_by,
        decided_at=closure.decided_at, decision_reason=closure.decision_reason, late=bool(closure.late_days),
        late_days=[date.fromisoformat(d) for d in closure.late_days], late_excused=closure.late_excused,
        late_decided_by=closure.late_decided_by, late_decided_at=closure.late_decided_at,
        late_decision_reason=closure.late_decision_reason,
    )


def _visible(session: SessionDep, user: CurrentUser, closure_id: int, lock: bool = False) -> tuple[Closure, Station]:
    """The closure in the user's scope. With `lock`, its row stays locked until the caller commits and is read
    afresh: two deciders (an approval and a rejection from two API processes) then take turns, and the second sees
    the first's decision instead of overwriting it (which would leave a "rejected" closure with its days excused)."""
    query = (select(Closure, Station).join(Station, Station.id == Closure.station_id)
             .where(Closure.id == closure_id, station_condition(user)))
    if lock:
        hold_row(session, Closure, closure_id)
        query = query.execution_options(populate_existing=True)
    row = session.execute(query).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no closure {closure_id} in your scope")
    return row[0], row[1]


@router.get("", response_model=list[ClosureOut])
def list_closures(
    user: StationViewer, session: SessionDep,
    status_: Annotated[Literal["requested", "approved", "rejected"] | None, Query(alias="status")] = None,
    station: Annotated[str | None, Query(max_length=63)] = None,
) -> list[ClosureOut]:
    query = select(Closure, Station).join(Station, Station.id == Closure.station_id).where(station_condition(user))
    if status_ is not None:
        query = query.where(Closure.status == status_)
    if station is not None:
        query = query.where(Closure.station_id == station)
    rows = session.execute(query.order_by(Closure.requested_at.desc(), Closure.id.desc())).tuples()
    return [_out(c, s) for c, s in rows]


@router.post("", response_model=ClosureOut, status_code=status.HTTP_201_CREATED)
def request_closure(body: ClosureIn, user: StationViewer, session: SessionDep, config: ConfigDep) -> ClosureOut:
    if user.role != "station" or not user.station_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "closures are requested by the station's staff")
    station = get_visible_station(session, user, user.station_id)
    closure = Closure(station_id=station.id, first_day=body.first_day, last_day=body.last_day,
                      reason=body.reason.strip(), status=ClosureStatus.REQUESTED.value, requested_by=user.name,
                      requested_at=config.clock(), late_days=[])
    session.add(closure)
    session.commit()
    return _out(closure, station)


def _decide(closure_id: ClosureId, user: CurrentUser, session: SessionDep) -> tuple[Closure, Station]:
    closure, station = _visible(session, user, closure_id, lock=True)
    if closure.status != ClosureStatus.REQUESTED.value:
        raise HTTPException(status.HTTP_409_CONFLICT, f"closure {closure_id} is already {closure.status}")
    return closure, station


@router.post("/{closure_id}/approve", response_model=ClosureOut, responses={404: {}, 409: {}})
def approve_closure(closure_id: ClosureId, body: DecisionIn, user: SupervisorUser, session: SessionDep,
                    config: ConfigDep) -> ClosureOut:
    closure, station = _decide(closure_id, user, session)
    now = config.clock()
    excused = approve(session, closure, user.name, body.reason.strip(), now)
    mark_dirty(session, station.id, excused, now)  # the worker re-derives those days as excused
    session.commit()
    return _out(closure, station)


@router.post("/{closure_id}/reject", response_model=ClosureOut, responses={404: {}, 409: {}})
def reject_closure(closure_id: ClosureId, body: DecisionIn, user: SupervisorUser, session: SessionDep,
                   config: ConfigDep) -> ClosureOut:
    closure, station = _decide(closure_id, user, session)
    reject(closure, user.name, body.reason.strip(), config.clock())
    session.commit()
    return _out(closure, station)


@router.post("/{closure_id}/late-decision", response_model=ClosureOut, responses={404: {}, 409: {}})
def decide_late_days(closure_id: ClosureId, body: LateDecisionIn, user: BureauUser, session: SessionDep,
                     config: ConfigDep) -> ClosureOut:
    """The bureau decides whether a late approval also excuses the days a spot check had already judged."""
    closure, station = _visible(session, user, closure_id, lock=True)
    if closure.status != ClosureStatus.APPROVED.value or not closure.late_days:
        raise HTTPException(status.HTTP_409_CONFLICT, f"closure {closure_id} has no late days to decide")
    if closure.late_excused is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"closure {closure_id}'s late days are already decided")
    now = config.clock()
    excused = decide_late(session, closure, user.name, body.excuse, body.reason.strip(), now)
    mark_dirty(session, station.id, excused, now)
    session.commit()
    return _out(closure, station)


@router.get("/exceptions.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_exceptions(
    user: SupervisorUser, session: SessionDep,
    since: FromDay = None, until: ToDay = None,
) -> Response:
    """The excused days in scope as `station,date,reason`: the file `eldercare cloud derive --exceptions` reads."""
    query = (select(StationException.station_id, StationException.date, StationException.reason)
             .join(Station, Station.id == StationException.station_id).where(station_condition(user)))
    if since is not None:
        query = query.where(StationException.date >= since)
    if until is not None:
        query = query.where(StationException.date <= until)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["station", "date", "reason"])
    for station, day, reason in session.execute(query.order_by(StationException.station_id, StationException.date)):
        writer.writerow([station, day.isoformat(), safe_cell(" ".join(reason.split()))])
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="exceptions.csv"'})


