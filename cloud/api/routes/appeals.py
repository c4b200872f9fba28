"""Appeals (申诉) against failed spot checks: station staff contest a failed check of their station once, with text;
its town officer or the bureau decides (upheld or rejected, with the reason). Who, when and why are kept, shown and
exported with the annual assessment.

What a decision changes: an upheld appeal takes that one check out of the veto's count (see
`cloud.store.admin.counts_toward_veto`) and the veto is recomputed at once; the check's result itself is kept. A
rejected appeal changes nothing. A failed check is one whose counted result is `fail` (the bureau's decision on a
disputed on-site check, else the sensors'); one an on-site record disputes is not appealable until the bureau has
decided it. A check is appealed once: a second appeal is refused, whatever the first's outcome.

Station staff see only their own station's failed checks, and only once the check's day is over in the station's zone
(a check is unannounced: nothing about it shows while it could still be running); a town sees its towns'.
"""

import csv
import io
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloud.api import audit
from cloud.api.config import ApiConfig
from cloud.api.deps import ConfigDep, RulesDep, SessionDep, StationViewer, SupervisorUser
from cloud.api.scope import station_condition
from cloud.api.sheets import safe_row
from cloud.derive.offline import APPEAL_COLUMNS
from cloud.derive.verdicts import store_veto
from cloud.store.admin import Appeal, AppealStatus
from cloud.store.derived import SpotCheckPlan, SpotCheckResult
from cloud.store.locks import hold_row
from cloud.store.models import Station
from cloud.store.onsite import SpotCheckVisit, counted_result, visit_join
from cloud.store.users import User

router = APIRouter(prefix="/appeals", tags=["appeals"])
Text = Annotated[str, Field(min_length=1, max_length=2000)]
AppealId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Status = Literal["pending", "upheld", "rejected"]


class AppealIn(BaseModel):
    plan_id: Annotated[int, Field(ge=1, le=2**62, description="the spot-check plan whose failed result is contested")]
    text: Text


class DecisionIn(BaseModel):
    outcome: Literal["upheld", "rejected"]
    reason: Text


class CheckOut(BaseModel):
    """A failed spot check of a station, and its appeal if one was filed."""

    plan_id: int
    station: str
    station_name: str
    town: str
    date: date
    start: str
    end: str
    result: str
    reason: str | None
    reason_code: str | None = Field(description="the check's reason as a stable code (the dashboard translates it)")
    appeal_id: int | None
    appeal_status: Status | None


class AppealOut(BaseModel):
    id: int
    plan_id: int
    station: str
    station_name: str
    town: str
    date: date
    start: str
    end: str
    result: str | None = Field(description="the check's result now (kept whatever the decision)")
    check_reason: str | None
    check_reason_code: str | None = Field(description="the check's reason as a stable code")
    text: str
    filed_by: str
    filed_at: datetime
    status: Status
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    counts_toward_veto: bool = Field(description="false once upheld: the check no longer counts toward the veto")


def _checks(session: Session, user: User, config: ApiConfig) -> Select[tuple[SpotCheckResult, SpotCheckPlan, Station]]:
    """Failed checks the user may see: the result that counts (the bureau's decision on a disputed on-site check,
    else the sensors') is `fail`, and no on-site record disputes it still undecided. Station staff: their own, once
    the check's day has ended where they are."""
    query = (select(SpotCheckResult, SpotCheckPlan, Station)
             .join(SpotCheckPlan, SpotCheckPlan.id == SpotCheckResult.plan_id)
             .join(Station, Station.id == SpotCheckResult.station_id)
             .outerjoin(SpotCheckVisit, visit_join())
             .where(station_condition(user), counted_result() == "fail",
                    or_(SpotCheckVisit.plan_id.is_(None), SpotCheckVisit.decided_outcome.is_not(None),
                        SpotCheckVisit.found == "closed")))
    if user.role == "station":
        zone = session.scalar(select(Station.timezone).where(Station.id == user.station_id)) or "Asia/Shanghai"
        query = query.where(SpotCheckPlan.local_date < config.today(zone))
    return query


def _out(a: Appeal, p: SpotCheckPlan, s: Station, r: SpotCheckResult | None) -> AppealOut:
    return AppealOut(
        id=a.id, plan_id=a.plan_id, station=s.id, station_name=s.name, town=s.town, date=p.local_date, start=p.start,
        end=p.end, result=r.result if r else None, check_reason=(r.record.get("reason") if r else None),
        check_reason_code=(r.record.get("reason_code") if r else None), text=a.text,
        filed_by=a.filed_by, filed_at=a.filed_at, status=a.status,
        decided_by=a.decided_by, decided_at=a.decided_at, decision_reason=a.decision_reason,
        counts_toward_veto=a.status != AppealStatus.UPHELD.value,
    )


def _appeals(session: Session, user: User, *where: ColumnElement[bool]) -> list[AppealOut]:
    query = (select(Appeal, SpotCheckPlan, Station, SpotCheckResult)
             .join(SpotCheckPlan, SpotCheckPlan.id == Appeal.plan_id)
             .join(Station, Station.id == Appeal.station_id)
             .outerjoin(SpotCheckResult, and_(SpotCheckResult.plan_id == Appeal.plan_id,
                                              SpotCheckResult.station_id == Appeal.station_id))
             .where(station_condition(user), *where)
             .order_by(Appeal.filed_at.desc(), Appeal.id.desc()))
    return [_out(a, p, s, r) for a, p, s, r in session.execute(query).tuples()]


@router.get("/checks", response_model=list[CheckOut])
def list_failed_checks(user: StationViewer, session: SessionDep, config: ConfigDep) -> list[CheckOut]:
    """Failed checks that may be (or were) appealed, newest first."""
    rows = session.execute(_checks(session, user, config)
                           .order_by(SpotCheckPlan.local_date.desc(), Station.id).limit(2000)).tuples().all()
    filed = {(a.plan_id, a.station_id): a for a in session.scalars(select(Appeal).where(
        Appeal.plan_id.in_({p.id for _, p, _ in rows})))} if rows else {}
    out = []
    for r, p, s in rows:
        appeal = filed.get((p.id, s.id))
        out.append(CheckOut(plan_id=p.id, station=s.id, station_name=s.name, town=s.town, date=p.local_date,
                            start=p.start, end=p.end, result="fail", reason=r.record.get("reason"),
                            reason_code=r.record.get("reason_code"),
                            appeal_id=appeal.id if appeal else None,
                            appeal_status=appeal.status if appeal else None))
    return out


@router.get("", response_model=list[AppealOut])
def list_appeals(user: StationViewer, session: SessionDep,
                 status_: Annotated[Status | None, Query(alias="status")] = None) -> list[AppealOut]:
    return _appeals(session, user, *([Appeal.status == status_] if status_ else []))


@router.get("/decisions.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_decisions(user: SupervisorUser, session: SessionDep) -> Response:
    """Every appeal in scope as `station,date,start,end,outcome,reason`: the file `eldercare cloud derive --appeals`
    reads, so an audit recompute leaves the same checks out of the veto as the platform."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(APPEAL_COLUMNS)
    for a in sorted(_appeals(session, user), key=lambda a: (a.station, a.date, a.start, a.id)):
        writer.writerow(safe_row([a.station, a.date.isoformat(), a.start, a.end, a.status,
                                  " ".join((a.decision_reason or "").split())]))
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="appeals.csv"'})


def _refuse_second(session: Session, plan_id: int, station_id: str) -> None:
    first = session.scalars(select(Appeal).where(Appeal.plan_id == plan_id, Appeal.station_id == station_id)).first()
    if first is not None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"spot check {plan_id} was already appealed (appeal {first.id}, {first.status}); "
                            "a check is appealed once")


@router.post("", response_model=AppealOut, status_code=status.HTTP_201_CREATED, responses={404: {}, 409: {}})
def file_appeal(body: AppealIn, user: StationViewer, session: SessionDep, config: ConfigDep) -> AppealOut:
    if user.role != "station" or not user.station_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "appeals are filed by the station's staff")
    query = _checks(session, user, config).where(SpotCheckResult.plan_id == body.plan_id)
    row = session.execute(query).tuples().first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no failed spot check {body.plan_id} of your station")
    result, plan, station = row
    plan_id, station_id = plan.id, station.id
    _refuse_second(session, plan_id, station_id)
    now = config.clock()
    appeal = Appeal(plan_id=plan_id, station_id=station_id, text=body.text.strip(), filed_by=user.name,
                    filed_at=now, status=AppealStatus.PENDING.value)
    session.add(appeal)
    try:
        session.flush()
    except IntegrityError:
        # Filed at the same moment through another API process (a double submit): the first one stands.
        session.rollback()
        _refuse_second(session, plan_id, station_id)
        raise
    audit.record(session, user, "appeal.file", "appeal", str(appeal.id), now,
                 after={"plan_id": plan.id, "station": station.id, "date": plan.local_date.isoformat(),
                        "text": appeal.text})
    session.commit()
    return _out(appeal, plan, station, result)


@router.post("/{appeal_id}/decide", response_model=AppealOut, responses={404: {}, 409: {}})
def decide_appeal(appeal_id: AppealId, body: DecisionIn, user: SupervisorUser, session: SessionDep,
                  config: ConfigDep, rules: RulesDep) -> AppealOut:
    found = _appeals(session, user, Appeal.id == appeal_id)
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no appeal {appeal_id} in your scope")
    # Locked until the commit and read afresh: a second decider (another API process) waits, then finds it decided.
    hold_row(session, Appeal, appeal_id)
    appeal = session.get(Appeal, appeal_id, populate_existing=True)
    assert appeal is not None
    if appeal.status != AppealStatus.PENDING.value:
        raise HTTPException(status.HTTP_409_CONFLICT, f"appeal {appeal_id} is already {appeal.status}")
    now = config.clock()
    appeal.status = body.outcome
    appeal.decided_by, appeal.decided_at, appeal.decision_reason = user.name, now, body.reason.strip()
    session.flush()
    # The veto of the check's year, recounted now under the decision.
    store_veto(session, appeal.station_id, [found[0].date.year], rules, now)
    audit.record(session, user, "appeal.decide", "appeal", str(appeal.id), now,
                 before={"status": AppealStatus.PENDING.value},
                 after={"status": body.outcome, "reason": appeal.decision_reason, "plan_id": appeal.plan_id,
                        "station": appeal.station_id})
    session.commit()
    return _appeals(session, user, Appeal.id == appeal_id)[0]
