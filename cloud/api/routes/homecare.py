"""Home care (居家上门服务): the registry, work orders, follow-ups, complaints, surveys, figures and their Excel
exports, each scoped like its records: the bureau sees all, a town officer its towns, a provider's manager its own
elders, caregivers and orders, a caregiver only their own visits. Station staff and dispatch see none of it.

Figures are computed by the same functions as `eldercare cloud derive --elders --visits`.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi import Path as PathParam
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.api import audit
from cloud.api.assessment import Sheet
from cloud.api.deps import ConfigDep, RulesDep, RuntimeDep, SessionDep, require_roles
from cloud.api.errors import homecare_refusals
from cloud.api.scope import HOMECARE_ROLES, homecare_provider_condition, homecare_visit_condition
from cloud.api.sheets import MEDIA, Format, render
from cloud.homecare import supervise
from cloud.homecare.figures import ElderFigures, ProviderFigures, elder_figures, period_months, provider_figures
from cloud.homecare.followup import Consequence
from cloud.homecare.records import (
    CATEGORY_NAMES,
    DEFAULT_TIMEZONE,
    Caregiver,
    Category,
    Elder,
    Location,
    Provider,
    Satisfaction,
)
from cloud.homecare.store.errors import NotFound
from cloud.homecare.store.made_up import record_made_up_month
from cloud.homecare.store.registry import (
    get_elder,
    get_provider,
    list_caregivers,
    list_elders,
    list_providers,
    upsert_caregiver,
    upsert_elder,
    upsert_provider,
)
from cloud.homecare.store.visits import get_visit, visits_query, void_visit
from cloud.store.homecare import (
    Complaint,
    FollowUp,
    FollowUpSample,
    HomecareCaregiver,
    HomecareElder,
    HomecareVisit,
    row_dict,
)
from cloud.store.users import User

router = APIRouter(prefix="/homecare", tags=["homecare"])

HomecareUser = Annotated[User, require_roles(*sorted(HOMECARE_ROLES))]
Supervisor = Annotated[User, require_roles("bureau", "town")]
Manager = Annotated[User, require_roles("bureau", "town", "provider")]
Bureau = Annotated[User, require_roles("bureau")]
Id = Annotated[str, PathParam(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Key = Annotated[str, PathParam(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Month = Annotated[str, PathParam(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", description="YYYY-MM")]
Period = Annotated[str, PathParam(pattern=r"^20[0-9]{2}(-(0[1-9]|1[0-2]|Q[1-4]))?$",
                                  description="YYYY-MM, YYYY-Qn or YYYY")]
Filter = Annotated[str | None, Query(max_length=200)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Note = Annotated[str, Field(min_length=1, max_length=2000)]
CATEGORY_CN = {c.value: n for c, n in CATEGORY_NAMES.items()}
CONSEQUENCE_CN = {Consequence.OK: "达标", Consequence.RECTIFY: "限期整改", Consequence.MAY_TERMINATE: "可解除合同",
                  Consequence.NO_DATA: "无数据"}


def _now(config: Any) -> datetime:
    moment: datetime = config.clock()
    return moment


def _own_town(user: User, town: str) -> None:
    if user.role == "town" and town not in user.town_names:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"town {town!r} is not yours")


# --- registry -------------------------------------------------------------------------------------------------


class ProviderIn(BaseModel):
    name: Name
    town: Name
    phone: Annotated[str, Field(max_length=32)] = ""


class CaregiverIn(BaseModel):
    name: Name
    provider: Annotated[str, Field(min_length=1, max_length=63)]
    phone: Annotated[str, Field(max_length=32)] = ""


class ElderIn(BaseModel):
    name: Name
    category: Category
    town: Name
    provider: Annotated[str, Field(min_length=1, max_length=63)]
    address: Annotated[str, Field(max_length=500)] = ""
    package: Annotated[str, Field(max_length=200)] = ""
    lat: Annotated[float | None, Field(ge=-90, le=90)] = None
    lon: Annotated[float | None, Field(ge=-180, le=180)] = None
    # The service period (first and last day of care, in the elder's zone, both included); omitted: no limit.
    since: date | None = None
    until: date | None = None


@router.get("/providers")
def providers(user: HomecareUser, session: SessionDep) -> list[dict[str, Any]]:
    return [row_dict(p) for p in list_providers(session, user)]


@router.put("/providers/{provider_id}")
def put_provider(provider_id: Id, body: ProviderIn, user: Bureau, session: SessionDep) -> dict[str, Any]:
    with homecare_refusals():
        row = upsert_provider(session, Provider(provider_id, body.name, body.town, body.phone))
    session.commit()
    return row_dict(row)


@router.get("/caregivers")
def caregivers(user: HomecareUser, session: SessionDep, provider: Filter = None) -> list[dict[str, Any]]:
    return [row_dict(c) for c in list_caregivers(session, user, provider=provider)]


@router.put("/caregivers/{caregiver_id}")
def put_caregiver(caregiver_id: Id, body: CaregiverIn, user: Manager, session: SessionDep) -> dict[str, Any]:
    """The bureau, a town officer (for providers serving its towns) or the provider itself (its own staff)."""
    with homecare_refusals():
        get_provider(session, user, body.provider)
        existing = session.get(HomecareCaregiver, caregiver_id)
        if existing is not None:
            get_provider(session, user, existing.provider_id)  # not someone else's caregiver
        if user.role == "provider" and body.provider != user.provider_id:
            raise NotFound(f"no provider {body.provider!r} in your scope")
        row = upsert_caregiver(session, Caregiver(caregiver_id, body.name, body.provider, body.phone))
    session.commit()
    return row_dict(row)


@router.get("/elders")
def elders(user: HomecareUser, session: SessionDep, town: Filter = None,
           provider: Filter = None) -> list[dict[str, Any]]:
    return [row_dict(e) for e in list_elders(session, user, town=town, provider=provider)]


@router.put("/elders/{elder_id}")
def put_elder(elder_id: Id, body: ElderIn, user: Supervisor, session: SessionDep,
              config: ConfigDep) -> dict[str, Any]:
    """The bureau, or a town officer for elders of its towns (never a provider: the service period sets what it
    owes). Every change is in the audit log with the values before and after."""
    _own_town(user, body.town)
    existing = session.get(HomecareElder, elder_id)
    if existing is not None:
        _own_town(user, existing.town)
    if (body.lat is None) != (body.lon is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give both lat and lon, or neither")
    if body.since is not None and body.until is not None and body.until < body.since:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"until {body.until.isoformat()} is before since {body.since.isoformat()}")
    home = Location(body.lat, body.lon) if body.lat is not None and body.lon is not None else None
    before = _elder_fields(existing) if existing is not None else None
    with homecare_refusals():
        row = upsert_elder(session, Elder(elder_id, body.name, body.category, body.town, body.provider,
                                          body.address, body.package, home,
                                          existing.timezone if existing is not None else DEFAULT_TIMEZONE,
                                          body.since, body.until))
    session.flush()
    after = _elder_fields(row)
    if before is None:
        audit.record(session, user, "elder.add", "elder", elder_id, _now(config), after=after)
    else:
        keys = [k for k in after if before[k] != after[k]]
        if keys:
            audit.record(session, user, "elder.change", "elder", elder_id, _now(config),
                         before={k: before[k] for k in keys}, after={k: after[k] for k in keys})
    session.commit()
    return row_dict(row)


def _elder_fields(row: HomecareElder) -> dict[str, Any]:
    """What the audit log keeps of an elder (JSON values: days as YYYY-MM-DD)."""
    return {"name": row.name, "category": row.category, "town": row.town, "provider": row.provider_id,
            "address": row.address, "package": row.package, "lat": row.lat, "lon": row.lon,
            "since": row.since.isoformat() if row.since else None,
            "until": row.until.isoformat() if row.until else None}


class MadeUpIn(BaseModel):
    month: Annotated[str, Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]
    reason: Note


@router.post("/elders/{elder_id}/made-up-months")
def made_up_month(elder_id: Id, body: MadeUpIn, user: Supervisor, session: SessionDep,
                  config: ConfigDep) -> dict[str, Any]:
    """Record a month the elder could not be served for a special reason (its shortfall is due next month)."""
    with homecare_refusals():
        get_elder(session, user, elder_id)
        row = record_made_up_month(session, elder_id, body.month, body.reason, user.name, _now(config))
    session.commit()
    return row_dict(row)


# --- work orders ----------------------------------------------------------------------------------------------


def _visit_out(v: HomecareVisit) -> dict[str, Any]:
    out = row_dict(v)
    out.pop("id")
    return out


@router.get("/visits")
def visits(user: HomecareUser, session: SessionDep,
           start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
           end: Annotated[AwareDatetime | None, Query(alias="to")] = None, provider: Filter = None,
           elder: Filter = None, caregiver: Filter = None, newest_first: bool = False,
           limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> list[dict[str, Any]]:
    """Work orders signed in within [from, to), oldest first (or newest first); a caregiver sees only their own."""
    query = visits_query(user, start=start, end=end, provider=provider, elder=elder, caregiver=caregiver)
    if newest_first:
        query = query.order_by(None).order_by(HomecareVisit.sign_in_at.desc(), HomecareVisit.id.desc())
    return [_visit_out(v) for v in session.scalars(query.limit(limit))]


class VoidIn(BaseModel):
    reason: Note


@router.post("/visits/{key}/void")
def void(key: Key, body: VoidIn, user: Manager, session: SessionDep, config: ConfigDep) -> dict[str, Any]:
    """Void a work order that fails the duration or quality rules (作废单); it is kept and counts nowhere."""
    with homecare_refusals():
        visit = get_visit(session, user, key)
        void_visit(visit, user.name, body.reason, _now(config))
    session.commit()
    return _visit_out(visit)


# --- follow-ups, complaints, surveys --------------------------------------------------------------------------


class FollowUpIn(BaseModel):
    called_at: AwareDatetime | None = Field(default=None, description="when the call was made; default: now")
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
                                        called_at=body.called_at or _now(config), reached=body.reached,
                                        satisfaction=body.satisfaction, notes=body.notes, now=_now(config))
    session.commit()
    return row_dict(row)


@router.get("/followups/samples/{day}")
def sample(day: date, user: Supervisor, session: SessionDep) -> dict[str, Any]:
    """The day's follow-up sample (the orders to call, in drawing order; those in your scope), with its seed."""
    row = session.get(FollowUpSample, day)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sample drawn for {day}")
    visible = set(session.scalars(select(HomecareVisit.key).where(HomecareVisit.key.in_(row.visit_keys),
                                                                  homecare_visit_condition(user))))
    called = set(session.scalars(select(HomecareVisit.key).join(FollowUp, FollowUp.visit_id == HomecareVisit.id)
                                 .where(HomecareVisit.key.in_(visible), FollowUp.by_role == "platform")))
    return {"day": row.day, "seed": row.seed, "share": row.share, "orders": row.orders, "drawn_at": row.drawn_at,
            "drawn_by": row.drawn_by, "size": len(row.visit_keys),
            "visits": [{"key": k, "called": k in called} for k in row.visit_keys if k in visible]}


@router.post("/followups/samples/{day}", status_code=status.HTTP_201_CREATED)
def draw(day: date, user: Bureau, session: SessionDep, config: ConfigDep, rules: RulesDep,
         runtime: RuntimeDep) -> dict[str, Any]:
    """Draw (or top up) a finished day's sample now instead of waiting for the worker."""
    zone = runtime.settings.timezone
    if day >= config.today(zone):
        raise HTTPException(status.HTTP_409_CONFLICT, f"{day} is not over yet")
    row = supervise.draw_day_sample(session, day, zone, rules.homecare.followup_share, user.name, _now(config))
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no work orders on {day}")
    session.commit()
    return sample(day, user, session)


class ComplaintIn(BaseModel):
    provider: Annotated[str, Field(min_length=1, max_length=63)]
    elder: Annotated[str | None, Field(max_length=63)] = None
    visit: Annotated[str | None, Field(min_length=8, max_length=64)] = None
    received_at: AwareDatetime
    text: Note


class DecisionIn(BaseModel):
    valid: bool
    reason: Note


def _complaint_scope(session: Session, user: User) -> Any:
    from cloud.store.homecare import HomecareProvider

    return Complaint.provider_id.in_(select(HomecareProvider.id).where(homecare_provider_condition(user)))


@router.get("/complaints")
def complaints(user: Manager, session: SessionDep) -> list[dict[str, Any]]:
    rows = session.scalars(select(Complaint).where(_complaint_scope(session, user))
                           .order_by(Complaint.received_at.desc()).limit(1000))
    return [row_dict(c) for c in rows]


@router.post("/complaints", status_code=status.HTTP_201_CREATED)
def add_complaint(body: ComplaintIn, user: Supervisor, session: SessionDep) -> dict[str, Any]:
    with homecare_refusals():
        get_provider(session, user, body.provider)
        elder = get_elder(session, user, body.elder).id if body.elder else None
        visit = get_visit(session, user, body.visit) if body.visit else None
        row = supervise.record_complaint(session, provider_id=body.provider, text=body.text, by=user.name,
                                         received_at=body.received_at, elder_id=elder, visit=visit)
    session.commit()
    return row_dict(row)


@router.post("/complaints/{complaint_id}/decision")
def decide(complaint_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)], body: DecisionIn, user: Supervisor,
           session: SessionDep, config: ConfigDep) -> dict[str, Any]:
    """Whether the complaint is valid (有效投诉), with the reason; a later decision replaces it, saying who."""
    row = session.scalars(select(Complaint).where(Complaint.id == complaint_id,
                                                  _complaint_scope(session, user))).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no complaint {complaint_id} in your scope")
    with homecare_refusals():
        supervise.decide_complaint(row, valid=body.valid, by=user.name, reason=body.reason, now=_now(config))
    session.commit()
    return row_dict(row)


class SurveyIn(BaseModel):
    town: Name
    provider: Annotated[str, Field(min_length=1, max_length=63)]
    year: Annotated[int, Field(ge=2020, le=2100)]
    quarter: Annotated[int, Field(ge=1, le=4)]
    respondents: Annotated[int, Field(ge=1, le=1_000_000)]
    satisfied: Annotated[int, Field(ge=0, le=1_000_000)]


@router.post("/surveys", status_code=status.HTTP_201_CREATED)
def survey(body: SurveyIn, user: Supervisor, session: SessionDep, config: ConfigDep,
           rules: RulesDep) -> dict[str, Any]:
    """A town's quarterly satisfaction survey of a provider (below 80 %: rectification, raised as an alert)."""
    _own_town(user, body.town)
    with homecare_refusals():
        get_provider(session, user, body.provider)
        row = supervise.record_survey(session, town=body.town, provider_id=body.provider, year=body.year,
                                      quarter=body.quarter, respondents=body.respondents, satisfied=body.satisfied,
                                      by=user.name, now=_now(config))
    session.commit()
    from cloud.homecare.followup import survey_consequence

    return {**row_dict(row), "consequence": survey_consequence(row.respondents, row.satisfied, rules.homecare)}


# --- figures and exports --------------------------------------------------------------------------------------


@router.get("/figures/elders/{period}", response_model=ElderFigures)
def elder_month_figures(period: Period, user: Manager, session: SessionDep, config: ConfigDep, rules: RulesDep,
                        runtime: RuntimeDep, provider: Filter = None, town: Filter = None) -> ElderFigures:
    """Per elder per month: counted visits, minutes, required (with made-up months), met; and the year's items."""
    return elder_figures(session, user, period_months(period), rules.homecare, _now(config),
                         runtime.settings.timezone, provider=provider, town=town)


@router.get("/figures/providers/{period}", response_model=list[ProviderFigures])
def provider_period_figures(period: Period, user: Manager, session: SessionDep, config: ConfigDep,
                            rules: RulesDep, runtime: RuntimeDep) -> list[ProviderFigures]:
    """Per provider for a month, quarter or year: orders, counted, voided, elders meeting their minimum, follow-up
    share, satisfaction and valid complaints with their consequences, and for a year the renewal outlook."""
    return provider_figures(session, user, period, rules.homecare, _now(config), runtime.settings.timezone)


def _file(content: bytes, fmt: Format, name: str) -> Response:
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "ignore").decode() or "export"
    disposition = f"attachment; filename=\"{ascii_name}.{fmt}\"; filename*=UTF-8''{quote(name)}.{fmt}"
    return Response(content, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})


FormatQuery = Annotated[Literal["xlsx", "csv"], Query(description="xlsx or csv")]
FILES: dict[int | str, dict[str, Any]] = {200: {"content": {MEDIA["xlsx"]: {}, MEDIA["csv"]: {}}}, 403: {}}


@router.get("/exports/elders/{period}", response_class=Response, responses=FILES)
def export_elders(period: Period, user: Manager, session: SessionDep, config: ConfigDep, rules: RulesDep,
                  runtime: RuntimeDep, format: FormatQuery = "xlsx") -> Response:
    figures = elder_figures(session, user, period_months(period), rules.homecare, _now(config),
                            runtime.settings.timezone)
    names = {e.id: (e.name, e.town, e.provider_id) for e in list_elders(session, user)}
    rows = [(m.elder, names.get(m.elder, ("", "", ""))[0], names.get(m.elder, ("", "", ""))[1],
             names.get(m.elder, ("", "", ""))[2], m.month, CATEGORY_CN[m.category.value], m.visits, m.minutes,
             m.required, "是" if m.met else "否") for m in figures.months]
    sheet = Sheet(title=f"居家上门服务 老人月度服务情况 {period}",
                  facts=[("统计口径", f"每次服务不少于{rules.homecare.min_visit_minutes:g}分钟计入;作废单不计"),
                         ("导出人", user.name)],
                  header=("老人编号", "姓名", "镇(街道)", "服务商", "月份", "类别", "有效服务次数", "服务分钟",
                          "应服务次数", "是否达标"), rows=rows)
    return _file(render(sheet, format), format, f"居家上门服务-老人-{period}")


@router.get("/exports/providers/{period}", response_class=Response, responses=FILES)
def export_providers(period: Period, user: Manager, session: SessionDep, config: ConfigDep, rules: RulesDep,
                     runtime: RuntimeDep, format: FormatQuery = "xlsx") -> Response:
    figures = provider_figures(session, user, period, rules.homecare, _now(config), runtime.settings.timezone)

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value * 100:.1f}%"

    rows = [(f.provider, f.name, f.town, f.period, f.orders, f.counted, f.voided, f.elder_months,
             f.elder_months_met, pct(f.service.followup_share), f.service.answers, pct(f.service.satisfaction),
             CONSEQUENCE_CN[f.service.satisfaction_consequence], f.service.valid_complaints,
             pct(f.service.complaint_rate), CONSEQUENCE_CN[f.service.complaint_consequence],
             "" if f.service.renewal_years is None else (f"可续签{f.service.renewal_years}年"
                                                         if f.service.renewal_years else "不予续签"))
            for f in figures]
    sheet = Sheet(title=f"居家上门服务 服务商考核 {period}",
                  facts=[("满意度口径", "平台回访中满意与基本满意所占比例" if rules.homecare.basic_counts_as_satisfied
                          else "平台回访中满意所占比例"), ("导出人", user.name)],
                  header=("服务商编号", "服务商", "镇(街道)", "期间", "工单数", "有效工单", "作废单", "老人·月",
                          "达标老人·月", "平台回访率", "回访应答数", "满意率", "满意度结论", "有效投诉",
                          "有效投诉率", "投诉结论", "续签展望"), rows=rows)
    return _file(render(sheet, format), format, f"居家上门服务-服务商-{period}")


AuditFile = Literal["elders.csv", "visits.csv", "voided.csv", "made-up.csv"]


@router.get("/audit/{period}/{name}", response_class=Response,
            responses={200: {"content": {MEDIA["csv"]: {}}}, 403: {}})
def audit_file(period: Period, name: Annotated[AuditFile, PathParam()], user: Manager, session: SessionDep,
               runtime: RuntimeDep) -> Response:
    """The files `eldercare cloud derive --elders --visits --voided --made-up` reads, for the elders in your scope
    and the period (with the month before it, whose made-up shortfall the first month may carry): an auditor
    recomputes the figures from them with no server. Cells are never formulas."""
    import csv
    import io

    from cloud.api.sheets import safe_row
    from cloud.homecare.months import month_bounds, previous_month
    from cloud.store.homecare import MadeUpMonthRow

    months = period_months(period)
    zone = runtime.settings.timezone
    elders = list_elders(session, user)
    ids = [e.id for e in elders]
    start, _ = month_bounds(previous_month(months[0]), zone)
    _, end = month_bounds(months[-1], zone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if name == "elders.csv":
        writer.writerow(["elder_id", "name", "category", "town", "provider", "timezone", "since", "until"])
        writer.writerows(safe_row([e.id, e.name, e.category, e.town, e.provider_id, e.timezone,
                                   e.since.isoformat() if e.since else "", e.until.isoformat() if e.until else ""])
                         for e in elders)
    elif name == "made-up.csv":
        writer.writerow(["elder_id", "month", "reason"])
        rows: list[MadeUpMonthRow] = list(session.scalars(
            select(MadeUpMonthRow).where(MadeUpMonthRow.elder_id.in_(ids))
            .order_by(MadeUpMonthRow.elder_id, MadeUpMonthRow.month))) if ids else []
        writer.writerows(safe_row([m.elder_id, m.month, m.reason]) for m in rows)
    else:
        visits: list[HomecareVisit] = list(session.scalars(
            visits_query(user, start=start, end=end).where(HomecareVisit.elder_id.in_(ids)))) if ids else []
        if name == "visits.csv":
            writer.writerow(["visit_id", "elder_id", "caregiver_id", "provider", "sign_in", "sign_out", "items"])
            writer.writerows(safe_row([v.key, v.elder_id, v.caregiver_id, v.provider_id, v.sign_in_at.isoformat(),
                                       v.sign_out_at.isoformat() if v.sign_out_at else "", ";".join(v.items)])
                             for v in visits)
        else:
            writer.writerow(["visit_id", "reason"])
            writer.writerows(safe_row([v.key, v.void_reason or ""]) for v in visits if v.voided)
    return Response(out.getvalue().encode("utf-8"), media_type=MEDIA["csv"],
                    headers={"Content-Disposition": f'attachment; filename="{period}-{name}"'})
