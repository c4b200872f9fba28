"""Alert actions the API calls: acknowledge and resolve. An emergency call's acknowledgement goes back to the station
as `cmd/call-ack`, recorded here in `outgoing_commands` for the worker to publish."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.rules.alerts import EMERGENCY_CALL
from cloud.store.derived import OutgoingCommand
from cloud.store.models import Alert, AlertStatus
from station_protocol import CallAck


class AlertError(ValueError):
    """An action the alert's state does not allow, or an unknown alert; the message is one plain line."""


def _get(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertError(f"no alert {alert_id}")
    return alert


def _call_ack(session: Session, alert: Alert, by: str, now: datetime) -> OutgoingCommand | None:
    if alert.kind != EMERGENCY_CALL or not alert.call_id:
        return None
    already = session.execute(select(OutgoingCommand.id).where(OutgoingCommand.alert_id == alert.id,
                                                               OutgoingCommand.name == "call-ack")).first()
    if already is not None:
        return None
    ack = CallAck(v=1, call=alert.call_id, by=by, ts=now)
    command = OutgoingCommand(station_id=alert.station_id, name="call-ack", alert_id=alert.id, created_at=now,
                              payload=ack.model_dump(mode="json", by_alias=True, exclude_none=True), attempts=0)
    session.add(command)
    return command


Action = Callable[..., Alert]


def _add_note(alert: Alert, notes: str | None) -> None:
    if notes:
        alert.notes = f"{alert.notes}\n{notes}" if alert.notes else notes


def acknowledge(session: Session, alert_id: int, by: str, now: datetime, notes: str | None = None) -> Alert:
    """Mark an alert acknowledged by `by` at `now`; for an emergency call, queue the `cmd/call-ack` to the station.
    The caller commits."""
    alert = _get(session, alert_id)
    if alert.status != AlertStatus.RAISED.value:
        raise AlertError(f"alert {alert_id} is already {alert.status}")
    if not by.strip():
        raise AlertError("say who acknowledges the alert")
    alert.status = AlertStatus.ACKNOWLEDGED.value
    alert.acknowledged_by = by
    alert.acknowledged_at = now
    _add_note(alert, notes)
    session.flush()
    _call_ack(session, alert, by, now)
    return alert


def resolve(session: Session, alert_id: int, by: str, now: datetime, notes: str | None = None) -> Alert:
    """Mark an alert resolved; an emergency call never acknowledged still gets its `cmd/call-ack`, so the station
    stops waiting. The caller commits."""
    alert = _get(session, alert_id)
    if alert.status == AlertStatus.RESOLVED.value:
        raise AlertError(f"alert {alert_id} is already resolved")
    if not by.strip():
        raise AlertError("say who resolves the alert")
    alert.status = AlertStatus.RESOLVED.value
    alert.resolved_by = by
    alert.resolved_at = now
    _add_note(alert, notes)
    session.flush()
    _call_ack(session, alert, by, now)
    return alert
