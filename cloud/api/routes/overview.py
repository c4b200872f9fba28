"""GET /overview: the overview page in one call — today's states by town, active alerts, month progress by grade."""

from collections import Counter, defaultdict
from datetime import timedelta
from statistics import median
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from sqlalchemy import false, select

from cloud.alerts.kinds import AlertKind
from cloud.api.deps import ConfigDep, CurrentUser, RulesDep, RuntimeDep, SessionDep
from cloud.api.derived_view import SCHEDULE_COLUMNS, latest_data_day, today_states
from cloud.api.routes.alerts import count_active
from cloud.api.schemas import GradeProgress, Overview, TownCount
from cloud.api.scope import sees_station_data, station_condition
from cloud.rules.agent import agent_online
from cloud.store.derived import MonthResult
from cloud.store.models import Device, Station

router = APIRouter(tags=["overview"])
MAIN_STATES = ("open", "closed", "partial", "unknown", "not_started")


@router.get("/overview", response_model=Overview)
def overview(user: CurrentUser, session: SessionDep, runtime: RuntimeDep, config: ConfigDep,
             rules: RulesDep) -> Overview:
    now = config.clock()
    today = config.today(runtime.settings.timezone)
    current_month = f"{today:%Y-%m}"
    # Dispatch sees no verdicts: its overview is its calls, with no station states or month progress.
    visible = station_condition(user) if sees_station_data(user) else false()
    # Month progress of a month that has just begun says nothing: show the latest month holding data instead.
    month = current_month
    first = today.replace(day=1)
    if latest_data_day(session, visible, today, since=first) is None:
        latest = latest_data_day(session, visible, first - timedelta(days=1))
        month = f"{latest:%Y-%m}" if latest is not None else current_month
    rows = session.execute(select(*SCHEDULE_COLUMNS, Station.town, Station.grade).where(visible)).all()
    stations = [(s.id, s.town, s.grade) for s in rows]
    verdicts = {sid: state for sid, (state, _) in today_states(session, rows, now, visible).items()}
    # The roll-up's columns and its judged figure, read out of the record by the database: validating a thousand
    # whole month records for four fields took a fleet's overview most of its time.
    months = {
        row.station_id: row
        for row in session.execute(
            select(MonthResult.station_id, MonthResult.threshold, MonthResult.met, MonthResult.at_risk,
                   MonthResult.record["figure"].as_integer().label("figure"))
            .join(Station, Station.id == MonthResult.station_id)
            .where(visible, MonthResult.month == month)
        )
    }
    by_town: dict[str, Counter[str]] = defaultdict(Counter)
    by_grade: dict[str, list[str]] = defaultdict(list)
    for sid, town, grade in stations:
        verdict = verdicts.get(sid, "no_data")
        by_town[town][verdict if verdict in MAIN_STATES else "other"] += 1
        if grade is not None:  # a care centre or neighbourhood point has no grade, so no monthly threshold
            by_grade[grade].append(sid)
    grades = []
    for grade in sorted(by_grade):
        records = [months[sid] for sid in by_grade[grade] if sid in months]
        # A station with no face data has no confirmed figure: it is counted as unconfirmed, never as on track.
        figures = [float(r.figure) for r in records if r.figure is not None]
        grades.append(
            GradeProgress(
                grade=grade,
                stations=len(by_grade[grade]),
                threshold=rules.grade_thresholds.get(grade, records[0].threshold if records else 0),
                elders_median=median(figures) if figures else None,
                on_track=sum(1 for r in records if r.met or r.at_risk is False),
                met=sum(1 for r in records if r.met),
                unconfirmed=sum(1 for r in records if r.met is None and r.threshold is not None),
            )
        )
    towns = [
        TownCount(town=town, stations=sum(c.values()), **{s: c[s] for s in MAIN_STATES}, other=c["other"])
        for town, c in sorted(by_town.items())
    ]
    return Overview(
        date=today,
        month=month,
        current_month=current_month,
        now=now.astimezone(ZoneInfo(runtime.settings.timezone)),
        towns=towns,
        grades=grades,
        active_alerts=count_active(session, user),
        active_emergencies=count_active(session, user, kind=AlertKind.EMERGENCY_CALL.value),
        agents_offline=sum(
            1 for seen, status, status_at in session.execute(
                select(Device.last_seen_at, Device.online, Device.last_health_at).join(
                    Station, Station.id == Device.station_id).where(visible, Device.device_id == "agent")).tuples()
            if agent_online(seen, status, status_at, now, timedelta(minutes=rules.liveness_minutes)) is False),
    )
