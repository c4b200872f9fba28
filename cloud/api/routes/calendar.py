"""The working calendar: what is in force (package years, the bureau's holiday file) and the bureau's upload.

The newest stored version of the holiday file is the calendar of the worker, the API and `cloud rederive`; an upload
replaces it at once, and the worker recomputes the stored days it changes on its next pass (no restart).
"""

from dataclasses import replace
from datetime import date, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from cloud.api.deps import BureauUser, ConfigDep, RuntimeDep, SessionDep, SupervisorUser
from cloud.api.sheets import safe_cell
from cloud.derive import calendar_store
from cloud.derive.deployment import MAX_HOLIDAY_FILE_BYTES, ConfigFileError, decode_holidays
from cloud.rules.calendar import package_knows, unknown_years
from cloud.rules.holidays_file import parse_holidays, to_csv

router = APIRouter(prefix="/calendar", tags=["calendar"])


class CalendarDay(BaseModel):
    date: date
    kind: str
    name: str


class CalendarYear(BaseModel):
    year: int
    source: str = Field(description="package, file (the holiday file declares it), or unknown")


class CalendarVersion(BaseModel):
    id: int
    source: str = Field(description="upload (dashboard) or setting (ELDERCARE_HOLIDAYS_FILE)")
    path: str | None
    uploaded_by: str | None
    uploaded_at: datetime
    applied_at: datetime | None = Field(description="when the worker marked the days it changes for recompute")


class CalendarOut(BaseModel):
    version: CalendarVersion | None
    days: list[CalendarDay]
    years: list[CalendarYear]
    unknown_years: list[int] = Field(description="years the calendar should know by today and does not")


class CalendarIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(max_length=MAX_HOLIDAY_FILE_BYTES, description="the CSV text: date,kind,name")


def _out(session: SessionDep, today: date) -> CalendarOut:
    version = calendar_store.current_version(session)
    calendar = calendar_store.calendar_of(version)
    local = parse_holidays(version.content, stored=True) if version is not None else []
    years = sorted({today.year - 1, today.year, today.year + 1} | calendar.file_years)
    return CalendarOut(
        version=CalendarVersion(id=version.id, source=version.source, path=version.path,
                                uploaded_by=version.uploaded_by, uploaded_at=version.uploaded_at,
                                applied_at=version.applied_at) if version is not None else None,
        days=[CalendarDay(date=d.day, kind=d.kind, name=d.name) for d in sorted(local, key=lambda d: d.day)],
        years=[CalendarYear(year=y, source="package" if package_knows(y) else
                            "file" if y in calendar.file_years else "unknown") for y in years],
        unknown_years=unknown_years(calendar, today),
    )


@router.get("", response_model=CalendarOut)
def get_calendar(user: SupervisorUser, session: SessionDep, runtime: RuntimeDep, config: ConfigDep) -> CalendarOut:
    return _out(session, config.today(runtime.settings.timezone))


@router.get("/file", response_class=PlainTextResponse)
def get_file(user: SupervisorUser, session: SessionDep) -> PlainTextResponse:
    """The holiday file in force, as CSV (header only when there is none). Its cells are never formulas: an upload
    refuses a name a spreadsheet would run, and one in a version stored before that rule is served as text (a
    leading apostrophe, as every export does)."""
    version = calendar_store.current_version(session)
    days = parse_holidays(version.content, stored=True) if version is not None else []
    content = to_csv([replace(day, name=safe_cell(day.name)) for day in days])
    return PlainTextResponse(content, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="holidays.csv"'})


@router.post("", response_model=CalendarOut, responses={422: {}})
def upload(body: CalendarIn, user: BureauUser, session: SessionDep, runtime: RuntimeDep,
           config: ConfigDep) -> CalendarOut | JSONResponse:
    """Replace the holiday file. Refused as a whole with one line per problem (`problems`) when any line is wrong."""
    try:
        days = decode_holidays(body.content.encode("utf-8"), "holiday file")
    except ConfigFileError as exc:
        problems = [line.removeprefix("holiday file: ") for line in str(exc).splitlines()]
        return JSONResponse({"detail": "\n".join(problems), "problems": problems},
                            status_code=422)
    calendar_store.store_version(session, days, source="upload", now=config.clock(), by=user.name)
    session.commit()
    return _out(session, config.today(runtime.settings.timezone))
