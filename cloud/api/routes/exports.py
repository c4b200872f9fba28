"""Exports and the assessment list: the monthly report and the annual assessment sheet per station (Excel, CSV)."""

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from sqlalchemy import select

from cloud.api import derived_view
from cloud.api.assessment import assessment, monthly_report
from cloud.api.check_schemas import AssessmentRow
from cloud.api.deps import ConfigDep, RulesDep, SessionDep, StationViewer, SupervisorUser
from cloud.api.routes.activities import to_out
from cloud.api.schemas import StationIdParam
from cloud.api.scope import get_visible_station, station_condition
from cloud.api.sheets import MEDIA, Format, render
from cloud.api.yearfacts import year_facts
from cloud.rules.config import RulesConfig
from cloud.rules.records import DayRecord, MonthRecord
from cloud.store.derived import DayResult, MonthResult
from cloud.store.models import Station
from cloud.store.users import Activity

router = APIRouter(tags=["exports"])

StationId = StationIdParam
YearPath = Annotated[int, Path(ge=2020, le=2100)]
MonthPath = Annotated[str, Path(pattern=r"^20\d{2}-(0[1-9]|1[0-2])$", description="yyyy-mm")]
FormatQuery = Annotated[Format, Query(description="xlsx or csv")]
Score = Annotated[float | None, Query(ge=0, le=100, description="the assessors' annual score, if known")]
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {MEDIA["xlsx"]: {}, MEDIA["csv"]: {}}}, 404: {}, 403: {},
}


def _file(content: bytes, fmt: Format, name: str) -> Response:
    ascii_name = name.encode("ascii", "ignore").decode() or "export"
    disposition = f"attachment; filename=\"{ascii_name}.{fmt}\"; filename*=UTF-8''{quote(name)}.{fmt}"
    return Response(content, media_type=MEDIA[fmt], headers={"Content-Disposition": disposition})


def _answer_within(rules: RulesConfig) -> timedelta:
    """An emergency call is answered when acknowledged before it escalates (`call_escalate_minutes`)."""
    return timedelta(minutes=rules.call_escalate_minutes)


@router.get("/assessments/{year}", response_model=list[AssessmentRow], tags=["assessments"])
def list_assessments(
    year: YearPath, user: SupervisorUser, session: SessionDep, rules: RulesDep, config: ConfigDep
) -> list[AssessmentRow]:
    stations = list(session.scalars(select(Station).where(station_condition(user)).order_by(Station.town, Station.id)))
    zones = {s.id: s.timezone for s in stations}
    return [
        AssessmentRow(**assessment(f, subsidy_cny=rules.subsidy_cny, pass_score=rules.pass_score,
                                   min_known_share=rules.month_min_known_share,
                                   today=config.today(zones[f.station]),
                                   answer_minutes=rules.call_escalate_minutes).summary)
        for f in year_facts(session, stations, year, _answer_within(rules))
    ]


@router.get("/exports/stations/{station_id}/assessment/{year}", response_class=Response, responses=FILE_RESPONSES)
def export_assessment(
    station_id: StationId, year: YearPath, user: SupervisorUser, session: SessionDep, rules: RulesDep,
    config: ConfigDep, format: FormatQuery = "xlsx", score: Score = None,
) -> Response:
    station = get_visible_station(session, user, station_id)
    facts = year_facts(session, [station], year, _answer_within(rules))[0]
    sheet = assessment(facts, subsidy_cny=rules.subsidy_cny, pass_score=rules.pass_score, score=score,
                       min_known_share=rules.month_min_known_share,
                       today=config.today(station.timezone), answer_minutes=rules.call_escalate_minutes)
    return _file(render(sheet, format), format, f"assessment-{station.id}-{year}")


@router.get("/exports/stations/{station_id}/monthly/{month}", response_class=Response, responses=FILE_RESPONSES)
def export_monthly(
    station_id: StationId, month: MonthPath, user: StationViewer, session: SessionDep, config: ConfigDep,
    format: FormatQuery = "xlsx",
) -> Response:
    station = get_visible_station(session, user, station_id)
    first = date(int(month[:4]), int(month[5:]), 1)
    start, last = derived_view.month_bounds(first)
    stored = session.get(MonthResult, (station.id, month))
    line = MonthRecord.model_validate(stored.record) if stored is not None else None
    days = [DayRecord.model_validate(r) for r in session.scalars(
        select(DayResult.record).where(DayResult.station_id == station.id, DayResult.local_date.between(start, last))
        .order_by(DayResult.local_date)
    )]
    acts = [to_out(a).model_dump(mode="json") for a in session.scalars(
        select(Activity).where(Activity.station_id == station.id, Activity.day.between(start, last))
        .order_by(Activity.day)
    )]
    if not days and line is None and not acts:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"nothing derived for {station.id} in {month}")
    # The month's own grade and kind (those in force on its last day), not a later change's.
    grade, kind = (line.grade, line.kind) if line is not None else (station.grade, station.kind)
    info = {"id": station.id, "name": station.name, "town": station.town, "grade": grade, "kind": kind}
    sheet = monthly_report(info, line, days, acts)
    return _file(render(sheet, format), format, f"monthly-{station.id}-{month}")
