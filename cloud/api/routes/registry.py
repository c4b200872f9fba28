"""The station registry in the dashboard (bureau only): add a station, edit its name, town, kind, grade or hours, import
the bureau's CSV from the page. Every row goes through the CSV import's own validation (`parse_row`,
`parse_station_csv`) and its writer, and every change is kept in the audit log with its values before and after. A
changed schedule or grade applies from the day of the change in the station's zone (the writer keeps each version):
earlier days are still judged by the hours and grade in force on them."""

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.api.deps import BureauUser, ConfigDep, SessionDep
from cloud.api.schemas import StationIdParam
from cloud.csv_records import decode_csv_bytes
from cloud.registry.csv_rows import parse_row, parse_station_csv
from cloud.registry.store import Change, audit_changes, upsert_records
from cloud.store.models import Station
from cloud.store.schedules import BACKFILL_FROM, StationSchedule
from cloud.store.users import User

router = APIRouter(prefix="/registry", tags=["registry"])
Short = Annotated[str, Field(max_length=500)]


class StationFields(BaseModel):
    """A station as the CSV's columns (the same text, validated by the same code)."""

    name: Short
    town: Short
    kind: Annotated[str, Field(max_length=32, description="station (居家养老服务站), care_centre (照料中心) or "
                                                       "neighbourhood_point (睦邻点)")] = "station"
    grade: Annotated[str, Field(max_length=8, description="2A, 3A, 4A or 5A for a station; empty (or left out) for "
                                                      "the other kinds")] = ""
    weekdays: Annotated[str, Field(max_length=64, description="ISO weekdays, e.g. 1-5 or 1,2,3,4,5,6")]
    hours: Annotated[str, Field(max_length=200, description="sessions, e.g. 08:30-11:30 13:30-17:00")]
    open_on_holidays: bool = False
    address: Short = ""
    timezone: Annotated[str, Field(max_length=64)] = ""


class StationNew(StationFields):
    station_id: Annotated[str, Field(max_length=63)]


class RegistryStationOut(BaseModel):
    station_id: str
    name: str
    town: str
    kind: str
    grade: str | None
    weekdays: str
    hours: str
    open_on_holidays: bool
    address: str | None
    timezone: str


class ScheduleVersionOut(BaseModel):
    effective_from: date = Field(description="the first local day this version applies to (1970-01-01: every day "
                                             "before the history was kept)")
    weekdays: str
    hours: str
    open_on_holidays: bool
    kind: str
    grade: str | None


class ImportOut(BaseModel):
    added: int
    updated: int
    unchanged: int
    problems: list[str] = Field(description="one line per bad row: `line N: reason`")


def _out(s: Station) -> RegistryStationOut:
    return RegistryStationOut(station_id=s.id, name=s.name, town=s.town, kind=s.kind, grade=s.grade,
                              weekdays=s.weekdays,
                              hours=s.hours, open_on_holidays=s.open_on_holidays, address=s.address,
                              timezone=s.timezone)


def _write(session: Session, user: User, action: str, now: datetime, body: StationFields, station_id: str) -> None:
    row = {**body.model_dump(), "station_id": station_id,
           "open_on_holidays": "yes" if body.open_on_holidays else "no"}
    try:
        record = parse_row({k: str(v) for k, v in row.items()})
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    _, changes = upsert_records(session, [record], now)
    _audit(session, user, action, now, changes)


def _audit(session: Session, user: User, action: str, now: datetime, changes: list[Change]) -> None:
    audit_changes(session, changes, (user.name, user.role), action, now)


@router.get("/stations", response_model=list[RegistryStationOut])
def list_registry(user: BureauUser, session: SessionDep) -> list[RegistryStationOut]:
    return [_out(s) for s in session.scalars(select(Station).order_by(Station.town, Station.id))]


@router.post("/stations", response_model=RegistryStationOut, status_code=status.HTTP_201_CREATED,
             responses={409: {}, 422: {}})
def add_station(body: StationNew, user: BureauUser, session: SessionDep, config: ConfigDep) -> RegistryStationOut:
    if session.get(Station, body.station_id) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"station {body.station_id} already exists; edit it instead")
    _write(session, user, "station.add", config.clock(), body, body.station_id)
    session.commit()
    station = session.get(Station, body.station_id)
    assert station is not None
    return _out(station)


@router.put("/stations/{station_id}", response_model=RegistryStationOut, responses={404: {}, 422: {}})
def edit_station(station_id: StationIdParam, body: StationFields, user: BureauUser, session: SessionDep,
                 config: ConfigDep) -> RegistryStationOut:
    station = session.get(Station, station_id)
    if station is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no station {station_id!r}")
    _write(session, user, "station.edit", config.clock(), body, station_id)
    session.commit()
    return _out(station)


@router.get("/stations/{station_id}/schedules", response_model=list[ScheduleVersionOut], responses={404: {}})
def schedule_history(station_id: StationIdParam, user: BureauUser, session: SessionDep) -> list[ScheduleVersionOut]:
    """Every version of the station's hours and grade, oldest first: each day is judged by the one in force on it."""
    station = session.get(Station, station_id)
    if station is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no station {station_id!r}")
    rows = session.scalars(select(StationSchedule).where(StationSchedule.station_id == station_id)
                           .order_by(StationSchedule.effective_from)).all()
    if not rows:  # registered outside the registry's writer: its current values are its only version
        return [ScheduleVersionOut(effective_from=BACKFILL_FROM, weekdays=station.weekdays, hours=station.hours,
                                   open_on_holidays=station.open_on_holidays, kind=station.kind,
                                   grade=station.grade)]
    return [ScheduleVersionOut(effective_from=r.effective_from, weekdays=r.weekdays, hours=r.hours,
                               open_on_holidays=r.open_on_holidays, kind=r.kind, grade=r.grade)
            for r in rows]


@router.post("/stations/import", response_model=ImportOut, responses={
    200: {"description": "good rows imported, bad ones listed"}, 422: {}})
def import_stations(data: Annotated[bytes, Body(media_type="text/csv")], user: BureauUser, session: SessionDep,
                    config: ConfigDep) -> ImportOut:
    """The bureau's CSV as the request body (`text/csv`): the same columns and rules as `eldercare cloud stations
    import`. Good rows are imported even when others are bad; each bad row is one line of `problems`."""
    try:
        text = decode_csv_bytes(data)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    records, problems = parse_station_csv(text)
    counts, changes = upsert_records(session, records, config.clock())
    _audit(session, user, "station.import", config.clock(), changes)
    session.commit()
    return ImportOut(added=counts.added, updated=counts.updated, unchanged=counts.unchanged,
                     problems=[str(p) for p in problems])
