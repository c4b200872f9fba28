"""On-site spot checks (现场抽查): a plan's stations are the visits; a bureau or town inspector records what was
found at the door; a record that disputes the sensors waits for the bureau, whose decision counts toward the veto;
the quarter's coverage; the decisions as the CSV `eldercare cloud derive --decisions` reads.

Station staff reach none of this: a visit is unannounced, and a record is not final before the bureau has decided.
"""

import csv
import io
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi import Path as PathParam
from pydantic import AfterValidator, BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cloud.alerts.keys import spot_check_key
from cloud.alerts.service import clear
from cloud.api.check_schemas import OnsiteOut, ReviewValue, SpotResultValue
from cloud.api.config import ApiConfig
from cloud.api.deps import BureauUser, ConfigDep, RulesDep, RuntimeDep, SessionDep, SupervisorUser
from cloud.api.moments import Moment
from cloud.api.onsite_view import is_town_plan, onsite_out, plans_for, visible_station_ids
from cloud.api.runtime import Runtime
from cloud.api.schemas import FromDay, ToDay
from cloud.api.scope import station_condition
from cloud.api.sheets import safe_cell
from cloud.derive.decisions import HEADER
from cloud.derive.verdicts import store_veto
from cloud.rules.onsite import Found, Review, outcome
from cloud.rules.rollup import quarter_of
from cloud.rules.spotcheck import SpotResult
from cloud.store.derived import SpotCheckPlan, SpotCheckResult
from cloud.store.locks import hold_row
from cloud.store.models import Station
from cloud.store.onsite import SpotCheckVisit, decide, decisions, record, visit_review
from cloud.store.users import User

router = APIRouter(prefix="/onsite", tags=["on-site spot checks"])
PlanId = Annotated[int, PathParam(ge=1, le=2**62)]
StationKey = Annotated[str, PathParam(max_length=63)]
Quarter = Annotated[str | None, Query(pattern=r"^20\d\d-Q[1-4]$", description="YYYY-Qn; default: this quarter")]
# A phone's clock may run a little ahead of the server's: a visit time this far in the future is still accepted.
CLOCK_SLACK = timedelta(minutes=5)


class VisitOut(BaseModel):
    """One station of a plan: where and when to go, the sensors' verdict once judged, and the on-site record."""

    plan_id: int
    station: str
    station_name: str
    town: str
    address: str | None
    date: date
    start: str
    end: str
    planned_by: str
    sensor_result: SpotResultValue | None = Field(description="null until the window has ended and been judged")
    sensor_reason: str | None
    result: SpotResultValue | None = Field(description="what counts toward the veto: the decision, else the sensors'")
    review: ReviewValue
    onsite: OnsiteOut | None


def _plain_text(value: str) -> str:
    """Free text as people type it: control characters (a NUL, an escape sequence) are refused, line breaks kept."""
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in value):
        raise ValueError("control characters are not allowed")
    return value


PlainText = Annotated[str, AfterValidator(_plain_text)]


class RecordIn(BaseModel):
    found: Literal["open", "closed", "other"]
    notes: PlainText = Field(default="", max_length=2000)
    visited_at: Moment | None = Field(default=None, description="when the inspector was there; default now")

    @model_validator(mode="after")
    def _other_says_what(self) -> "RecordIn":
        if self.found == "other" and not self.notes.strip():
            raise ValueError("say in the notes what was found")
        return self


class DecisionIn(BaseModel):
    outcome: Literal["pass", "fail", "excused"] = Field(description="what counts toward the veto")
    reason: PlainText = Field(min_length=1, max_length=1000)


class TownCoverage(BaseModel):
    town: str
    stations: int
    checked: int = Field(description="stations with a judged or on-site check this quarter")
    visited: int = Field(description="stations an inspector recorded a visit to this quarter")
    own_plans: int = Field(description="checks the town planned itself this quarter (whose check a plan is was "
                                                "recorded when it was made)")
    unchecked: list[str]


class StationCoverage(BaseModel):
    station: str
    station_name: str
    town: str
    checks: int
    visits: int
    last_checked: date | None


class CoverageOut(BaseModel):
    quarter: str
    first_day: date
    last_day: date
    towns: list[TownCoverage]
    stations: list[StationCoverage]


Row = tuple[SpotCheckPlan, Station, SpotCheckResult | None, SpotCheckVisit | None]


def _out(plan: SpotCheckPlan, station: Station, result: SpotCheckResult | None,
         visit: SpotCheckVisit | None) -> VisitOut:
    sensor = SpotResult(result.result) if result is not None else None
    decided = SpotResult(visit.decided_outcome) if visit is not None and visit.decided_outcome else None
    counted = outcome(sensor, decided)
    return VisitOut(
        plan_id=plan.id, station=station.id, station_name=station.name, town=station.town, address=station.address,
        date=plan.local_date, start=plan.start, end=plan.end, planned_by=plan.created_by,
        sensor_result=sensor.value if sensor else None,
        sensor_reason=result.record.get("reason") if result is not None else None,
        result=counted.value if counted else None,
        review=visit_review(result, visit).value, onsite=onsite_out(visit),
    )


def _rows(session: Session, user: User, plans: Iterable[SpotCheckPlan], config: ApiConfig,
          runtime: Runtime) -> list[Row]:
    """Each plan's stations in the user's scope, with their result and visit (a few queries, whatever the size)."""
    plans = plans_for(user, plans, config.clock(), runtime.settings.timezone)
    stations = {s.id: s for s in session.scalars(select(Station).where(station_condition(user)))}
    ids = [p.id for p in plans]
    results = {(r.plan_id, r.station_id): r for r in session.scalars(
        select(SpotCheckResult).where(SpotCheckResult.plan_id.in_(ids)))}
    visits = {(v.plan_id, v.station_id): v for v in session.scalars(
        select(SpotCheckVisit).where(SpotCheckVisit.plan_id.in_(ids)))}
    return [(p, stations[sid], results.get((p.id, sid)), visits.get((p.id, sid)))
            for p in plans for sid in p.stations if sid in stations]


def _one(session: Session, user: User, plan_id: int, station_id: str, config: ApiConfig, runtime: Runtime) -> Row:
    plan = session.get(SpotCheckPlan, plan_id)
    station = session.scalars(select(Station).where(Station.id == station_id, station_condition(user))).first()
    if (plan is None or station is None or station_id not in plan.stations
            or not plans_for(user, [plan], config.clock(), runtime.settings.timezone)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no visit of {station_id!r} on plan {plan_id} in your scope")
    return (plan, station, session.get(SpotCheckResult, (plan_id, station_id)),
            session.get(SpotCheckVisit, (plan_id, station_id)))


@router.get("/visits", response_model=list[VisitOut])
def list_visits(
    user: SupervisorUser, session: SessionDep, config: ConfigDep, runtime: RuntimeDep,
    since: FromDay = None, until: ToDay = None,
    review: Annotated[ReviewValue | None, Query()] = None,
) -> list[VisitOut]:
    """The visits in scope, latest plan first: an inspector's list (today's, and the checks the sensors could not
    settle: `needs_visit`), and the bureau's review queue (`disputed`)."""
    query = select(SpotCheckPlan).order_by(SpotCheckPlan.local_date.desc(), SpotCheckPlan.id.desc()).limit(1000)
    if since is not None:
        query = query.where(SpotCheckPlan.local_date >= since)
    if until is not None:
        query = query.where(SpotCheckPlan.local_date <= until)
    out = [_out(*row) for row in _rows(session, user, session.scalars(query), config, runtime)]
    return [v for v in out if review is None or v.review == review]


@router.get("/visits/{plan_id}/{station}", response_model=VisitOut, responses={404: {}})
def get_visit(plan_id: PlanId, station: StationKey, user: SupervisorUser, session: SessionDep, config: ConfigDep,
              runtime: RuntimeDep) -> VisitOut:
    return _out(*_one(session, user, plan_id, station, config, runtime))


@router.post("/visits/{plan_id}/{station}/record", response_model=VisitOut, status_code=status.HTTP_201_CREATED,
             responses={404: {}, 409: {}, 422: {}})
def record_visit(plan_id: PlanId, station: StationKey, body: RecordIn, user: SupervisorUser, session: SessionDep,
                 config: ConfigDep, runtime: RuntimeDep) -> VisitOut:
    """The inspector's record, once: it stands beside the sensors' verdict and never replaces it by itself."""
    plan, row, result, visit = _one(session, user, plan_id, station, config, runtime)
    if visit is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"the visit was recorded by {visit.recorded_by} already")
    now = config.clock()
    visited = (body.visited_at or now).astimezone(UTC)  # stored and shown in UTC, like every time
    day_start = datetime.combine(plan.local_date, time(0), ZoneInfo(row.timezone))
    if visited < day_start:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"the visit time is before the planned day {plan.local_date}")
    if visited > now + CLOCK_SLACK:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the visit time is in the future")
    try:
        visit = record(session, plan, row.id, Found(body.found), body.notes.strip(), visited, user.name, now)
    except IntegrityError:
        # Recorded at the same moment through another API process: the first record stands.
        session.rollback()
        first = session.get(SpotCheckVisit, (plan_id, station))
        if first is None:
            raise
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"the visit was recorded by {first.recorded_by} already") from None
    session.commit()
    return _out(plan, row, result, visit)


@router.post("/visits/{plan_id}/{station}/decision", response_model=VisitOut, responses={404: {}, 409: {}})
def decide_visit(plan_id: PlanId, station: StationKey, body: DecisionIn, user: BureauUser, session: SessionDep,
                 config: ConfigDep, runtime: RuntimeDep, rules: RulesDep) -> VisitOut:
    """The bureau settles a check whose on-site record disputes the sensors; its outcome counts toward the veto
    from now on (recomputed here, at once)."""
    plan, row, result, visit = _one(session, user, plan_id, station, config, runtime)
    if visit is not None:
        # Locked until the commit and read afresh: a second decision (another API process) waits, then finds the
        # check decided, instead of overwriting the first after the veto was counted with it.
        hold_row(session, SpotCheckVisit, (plan_id, station))
        visit = session.get(SpotCheckVisit, (plan_id, station), populate_existing=True)
    state = visit_review(result, visit)
    if state is not Review.DISPUTED or result is None or visit is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"only a disputed check is decided; this one is {state.value}")
    now = config.clock()
    decided = SpotResult(body.outcome)
    decide(visit, SpotResult(result.result), decided, user.name, body.reason.strip(), now)
    store_veto(session, row.id, [plan.local_date.year], rules, now)
    if decided is not SpotResult.FAIL:
        clear(session, spot_check_key(plan.id, row.id), user.name, now, f"the bureau decided: {decided.value}")
    session.commit()
    return _out(plan, row, result, visit)


def _quarter_span(quarter: str) -> tuple[date, date]:
    year, q = int(quarter[:4]), int(quarter[-1])
    first = date(year, 3 * q - 2, 1)
    after = date(year + (q == 4), (3 * q) % 12 + 1, 1)
    return first, after - timedelta(days=1)


@router.get("/coverage", response_model=CoverageOut)
def coverage(user: SupervisorUser, session: SessionDep, config: ConfigDep, runtime: RuntimeDep,
             quarter: Quarter = None) -> CoverageOut:
    """Which towns and stations were checked this quarter (by the sensors on a planned window that has been judged,
    or on site), which were not, and whether each town ran checks of its own."""
    quarter = quarter or quarter_of(config.today(runtime.settings.timezone))
    first, last = _quarter_span(quarter)
    plans = list(session.scalars(select(SpotCheckPlan).where(SpotCheckPlan.local_date.between(first, last))))
    rows = _rows(session, user, plans, config, runtime)
    checks: dict[str, set[int]] = defaultdict(set)
    visits: dict[str, int] = defaultdict(int)
    latest: dict[str, date] = {}
    for plan, station, result, visit in rows:
        if result is None and visit is None:
            continue  # planned, not yet judged nor visited
        checks[station.id].add(plan.id)
        visits[station.id] += visit is not None
        latest[station.id] = max(latest.get(station.id, plan.local_date), plan.local_date)
    own: dict[str, int] = defaultdict(int)
    for plan in plans:
        if plan.town and is_town_plan(plan):
            own[plan.town] += 1
    stations = list(session.scalars(select(Station).where(station_condition(user)).order_by(Station.town, Station.id)))
    by_town: dict[str, list[Station]] = defaultdict(list)
    for s in stations:
        by_town[s.town].append(s)
    return CoverageOut(
        quarter=quarter, first_day=first, last_day=last,
        towns=[TownCoverage(town=town, stations=len(members), checked=sum(1 for s in members if checks[s.id]),
                            visited=sum(1 for s in members if visits[s.id]), own_plans=own[town],
                            unchecked=[s.id for s in members if not checks[s.id]])
               for town, members in sorted(by_town.items())],
        stations=[StationCoverage(station=s.id, station_name=s.name, town=s.town, checks=len(checks[s.id]),
                                  visits=visits[s.id], last_checked=latest.get(s.id)) for s in stations],
    )


@router.get("/decisions.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export_decisions(
    user: SupervisorUser, session: SessionDep,
    since: FromDay = None, until: ToDay = None,
    station: Annotated[str | None, Query(max_length=63, description="only this station's (an audit of one "
                                                                     "station: derive refuses a decision on a check "
                                                                     "its spot-check file does not list)")] = None,
) -> Response:
    """The bureau's decisions in scope: the file `eldercare cloud derive --decisions` reads."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    visible = visible_station_ids(session, user)
    for visit, plan in decisions(session, visible & {station} if station is not None else visible, since, until):
        writer.writerow([visit.station_id, plan.local_date.isoformat(), plan.start, plan.end, visit.decided_outcome,
                         safe_cell(" ".join((visit.decision_reason or "").split())), safe_cell(visit.decided_by or ""),
                         visit.sensor_at_decision or "", visit.found])
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="onsite-decisions.csv"'})
