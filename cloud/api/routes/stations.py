"""Stations: the scoped list with today's state, a station-day (timeline, evidence, counts, device health),
and a station-month (the month line, its days, the projection)."""

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import func, select

from cloud.alerts.kinds import AlertStatus
from cloud.api import derived_view, moments
from cloud.api.deps import ConfigDep, CurrentUser, RulesDep, RuntimeDep, SessionDep
from cloud.api.schemas import DayOut, MonthOut, StationIdParam, StationOut, TodayState
from cloud.api.scope import alert_condition, get_visible_station, sees_station_data, station_condition
from cloud.rules.agent import agent_online
from cloud.store.models import Alert, Device, Station
from firmware_config.grade import Grade
from firmware_config.kind import StationKind

router = APIRouter(prefix="/stations", tags=["stations"])

StationId = StationIdParam
DayParam = Annotated[moments.Day, Path(description="yyyy-mm-dd")]
MonthParam = Annotated[str, Path(pattern=r"^2\d{3}-(0[1-9]|1[0-2])$", description="yyyy-mm")]
GradeFilter = Annotated[Grade | None, Query()]
KindFilter = Annotated[StationKind | None, Query(description="station, care_centre or neighbourhood_point")]


@router.get("", response_model=list[StationOut])
def list_stations(
    user: CurrentUser,
    session: SessionDep,
    runtime: RuntimeDep,
    config: ConfigDep,
    rules: RulesDep,
    town: Annotated[str | None, Query(max_length=200)] = None,
    grade: GradeFilter = None,
    kind: KindFilter = None,
    state: Annotated[TodayState | None, Query(description="today's state")] = None,
) -> list[StationOut]:
    query = select(Station).where(station_condition(user))
    if town is not None:
        query = query.where(Station.town == town)
    if grade is not None:
        query = query.where(Station.grade == grade)
    if kind is not None:
        query = query.where(Station.kind == kind)
    if state is not None and not sees_station_data(user):
        # Filtering on today's state would tell the states themselves.
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {user.role} role may not see station states")
    stations = list(session.scalars(query.order_by(Station.town, Station.id)))
    ids = select(Station.id).where(station_condition(user))
    verdicts = sees_station_data(user)
    states = derived_view.today_states(session, stations, config.clock(), station_condition(user)) if verdicts else {}
    # The alerts counted are exactly those the user may list (station staff: no spot-check alerts; dispatch: calls).
    alert_counts = dict(
        session.execute(
            select(Alert.station_id, func.count())
            .join(Station, Station.id == Alert.station_id)
            .where(alert_condition(user), Alert.status != AlertStatus.RESOLVED.value)
            .group_by(Alert.station_id)
        ).tuples().all()
    )
    now, liveness = config.clock(), timedelta(minutes=rules.liveness_minutes)
    online = {
        station_id: agent_online(seen, status, status_at, now, liveness)
        for station_id, seen, status, status_at in session.execute(
            select(Device.station_id, Device.last_seen_at, Device.online, Device.last_health_at)
            .where(Device.device_id == "agent", Device.station_id.in_(ids))
        ).tuples()
    } if verdicts else {}
    out = []
    for s in stations:
        verdict, compliance = states.get(s.id, ("no_data", None)) if verdicts else (None, None)
        if state is not None and verdict != state:
            continue
        out.append(
            StationOut(
                id=s.id,
                name=s.name,
                town=s.town,
                kind=s.kind,
                grade=s.grade,
                address=s.address,
                weekdays=s.weekdays,
                hours=s.hours,
                today=verdict,
                compliance=compliance,
                online=online.get(s.id),
                active_alerts=alert_counts.get(s.id, 0),
            )
        )
    return out


@router.get("/{station_id}/days/{day}", response_model=DayOut, responses={404: {}})
def station_day(
    station_id: StationId, day: DayParam, user: CurrentUser, session: SessionDep, config: ConfigDep, rules: RulesDep
) -> DayOut:
    station = get_visible_station(session, user, station_id)
    now = config.clock()
    today = config.today(station.timezone)
    out = derived_view.day_out(session, station, day, now, timedelta(minutes=rules.liveness_minutes),
                               now if day == today else None)
    if out is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"nothing derived for {station_id} on {day} yet")
    if day == today:
        plan = derived_view.today_plans(session, [station], now)[station.id]
        out.state_so_far = derived_view.state_at(plan, out, now)
    out.latest_data_day = derived_view.latest_data_day(session, Station.id == station.id, today)
    return out


@router.get("/{station_id}/months/{month}", response_model=MonthOut, responses={404: {}})
def station_month(
    station_id: StationId, month: MonthParam, user: CurrentUser, session: SessionDep, runtime: RuntimeDep,
    config: ConfigDep,
) -> MonthOut:
    station = get_visible_station(session, user, station_id)
    first = date(int(month[:4]), int(month[5:]), 1)
    if not date(2020, 1, 1) <= first <= date(2100, 12, 1):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "month out of range (2020-2100)")
    out = derived_view.month_out(session, station, first)
    if out is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"nothing derived for {station_id} in {month} yet")
    today = config.today(station.timezone)
    # Today's cell shows the state and open share so far (`not_started` before opening), not the stored whole-day
    # verdict and share, which count the hours still to come as unknown (a morning's "open 6 %").
    for cell in out.days:
        if cell.date == today:
            cell.verdict, cell.compliance = derived_view.today_states(session, [station], config.clock())[station.id]
    return out

