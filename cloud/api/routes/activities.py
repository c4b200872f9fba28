"""Themed activities: station staff record the monthly activity the rules require; supervisors read them."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from cloud.api.deps import ConfigDep, SessionDep, StationViewer
from cloud.api.schemas import ActivityIn, ActivityOut
from cloud.api.scope import get_visible_station, station_condition
from cloud.store.models import Station
from cloud.store.users import Activity

router = APIRouter(prefix="/activities", tags=["activities"])
MonthParam = Annotated[str | None, Query(pattern=r"^2\d{3}-(0[1-9]|1[0-2])$", description="yyyy-mm")]


def to_out(activity: Activity) -> ActivityOut:
    return ActivityOut(
        id=activity.id,
        station=activity.station_id,
        day=activity.day,
        theme=activity.theme,
        participants=activity.participants,
        notes=activity.notes,
        recorded_by=activity.recorded_by,
        recorded_at=activity.recorded_at,
    )


@router.get("", response_model=list[ActivityOut])
def list_activities(
    user: StationViewer,
    session: SessionDep,
    station: Annotated[str | None, Query(max_length=63)] = None,
    month: MonthParam = None,
) -> list[ActivityOut]:
    query = select(Activity).join(Station, Station.id == Activity.station_id).where(station_condition(user))
    if station is not None:
        query = query.where(Activity.station_id == station)
    if month is not None:
        year, mon = int(month[:4]), int(month[5:])
        start = date(year, mon, 1)
        end = date(year + (mon == 12), mon % 12 + 1, 1)
        query = query.where(Activity.day >= start, Activity.day < end)
    rows = session.scalars(query.order_by(Activity.day.desc(), Activity.id.desc()).limit(1000))
    return [to_out(a) for a in rows]


@router.post("", response_model=ActivityOut, status_code=status.HTTP_201_CREATED)
def record_activity(body: ActivityIn, user: StationViewer, session: SessionDep, config: ConfigDep) -> ActivityOut:
    if user.role != "station":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "activities are recorded by the station's staff")
    station = get_visible_station(session, user, body.station)
    if body.day > config.today(station.timezone):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "an activity cannot be recorded before it happens")
    activity = Activity(
        station_id=body.station,
        day=body.day,
        theme=body.theme,
        participants=body.participants,
        notes=body.notes,
        recorded_by=user.name,
    )
    session.add(activity)
    session.commit()
    return to_out(activity)
