"""Alerts: list with filters, acknowledge and resolve, each within the user's scope."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from cloud.alerts.keys import anomaly_of
from cloud.alerts.kinds import AlertKind, AlertStatus
from cloud.api import alert_actions
from cloud.api.deps import CurrentUser, SessionDep
from cloud.api.schemas import AlertAction, AlertOut
from cloud.api.scope import ActionName, alert_condition, may_act
from cloud.store.models import Alert, Station
from cloud.store.users import User

router = APIRouter(prefix="/alerts", tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, le=2**62)]
Kinds = Annotated[list[AlertKind] | None, Query(description="repeat for several")]
Text = Annotated[str | None, Query(max_length=200)]


def alert_out(alert: Alert, station: Station | None) -> AlertOut:
    """An alert with its station; a bureau alert of no station (the calendar's) has empty station fields."""
    return AlertOut(
        id=alert.id,
        kind=alert.kind,
        station=alert.station_id or "",
        station_name=station.name if station is not None else "",
        town=station.town if station is not None else (alert.town or ""),
        status=alert.status,
        level=alert.level,
        raised_at=alert.raised_at,
        escalated_at=alert.escalated_at,
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at,
        resolved_by=alert.resolved_by,
        resolved_at=alert.resolved_at,
        notes=alert.notes,
        evidence=alert.evidence,
        call_id=alert.call_id,
        anomaly=anomaly_of(alert.cause_key) if alert.kind == AlertKind.SENSOR_ANOMALY.value else None,
    )


def scoped_alerts(user: User) -> Select[tuple[Alert, Station]]:
    """Alerts with their station, limited to what this user may see (an alert of no station: the bureau only)."""
    return select(Alert, Station).outerjoin(Station, Station.id == Alert.station_id).where(alert_condition(user))


@router.get("", response_model=list[AlertOut])
def list_alerts(
    user: CurrentUser,
    session: SessionDep,
    kind: Kinds = None,
    status_: Annotated[list[AlertStatus] | None, Query(alias="status", description="repeat for several")] = None,
    station: Text = None,
    town: Text = None,
    active: Annotated[bool | None, Query(description="true: raised or acknowledged; false: resolved")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AlertOut]:
    query = scoped_alerts(user)
    if kind:
        query = query.where(Alert.kind.in_([k.value for k in kind]))
    if status_:
        query = query.where(Alert.status.in_([s.value for s in status_]))
    if active is not None:
        resolved = Alert.status == AlertStatus.RESOLVED.value
        query = query.where(~resolved if active else resolved)
    if station is not None:
        query = query.where(Alert.station_id == station)
    if town is not None:
        query = query.where(or_(Station.town == town, Alert.town == town))
    rows = session.execute(query.order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(limit).offset(offset))
    return [alert_out(a, s) for a, s in rows.tuples()]


def count_active(session: Session, user: User, *, kind: str | None = None) -> int:
    query = (
        select(func.count())
        .select_from(Alert)
        .outerjoin(Station, Station.id == Alert.station_id)
        .where(alert_condition(user), Alert.status != AlertStatus.RESOLVED.value)
    )
    if kind is not None:
        query = query.where(Alert.kind == kind)
    return int(session.scalar(query) or 0)


def _visible(session: Session, user: User, alert_id: int) -> tuple[Alert, Station]:
    row = session.execute(scoped_alerts(user).where(Alert.id == alert_id)).tuples().first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id} in your scope")
    return row


def _actionable(session: Session, user: User, alert_id: int, action: ActionName) -> tuple[Alert, Station]:
    alert, station = _visible(session, user, alert_id)
    if not may_act(user, action, alert.kind):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {user.role} role may not {action} {alert.kind} alerts")
    return alert, station


@router.get("/{alert_id}", response_model=AlertOut)
def get_alert(alert_id: AlertId, user: CurrentUser, session: SessionDep) -> AlertOut:
    return alert_out(*_visible(session, user, alert_id))


@router.post("/{alert_id}/acknowledge", response_model=AlertOut, responses={403: {}, 404: {}, 409: {}})
def acknowledge(alert_id: AlertId, user: CurrentUser, session: SessionDep, body: AlertAction | None = None) -> AlertOut:
    alert, station = _actionable(session, user, alert_id, "acknowledge")
    if alert.status != AlertStatus.RAISED.value:
        raise HTTPException(status.HTTP_409_CONFLICT, f"alert {alert_id} is already {alert.status}")
    alert_actions.acknowledge(session, alert, by=user.name, notes=body.notes if body else None)
    return alert_out(alert, station)


@router.post("/{alert_id}/resolve", response_model=AlertOut, responses={403: {}, 404: {}, 409: {}})
def resolve(alert_id: AlertId, user: CurrentUser, session: SessionDep, body: AlertAction | None = None) -> AlertOut:
    alert, station = _actionable(session, user, alert_id, "resolve")
    if alert.status == AlertStatus.RESOLVED.value:
        raise HTTPException(status.HTTP_409_CONFLICT, f"alert {alert_id} is already resolved")
    alert_actions.resolve(session, alert, by=user.name, notes=body.notes if body else None)
    return alert_out(alert, station)
