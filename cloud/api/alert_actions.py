"""Acknowledge and resolve through the alerts service, which also queues `cmd/call-ack` for an emergency call."""

from datetime import UTC, datetime

from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from cloud.alerts import service
from cloud.store.models import Alert


def _apply(action: "service.Action", session: Session, alert: Alert, by: str, notes: str | None) -> None:
    try:
        # Wall-clock time: alert rows and the live stream run on real time, not the domain clock.
        action(session, alert.id, by=by, now=datetime.now(UTC), notes=notes)
    except service.AlertError as exc:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()


def acknowledge(session: Session, alert: Alert, *, by: str, notes: str | None) -> None:
    _apply(service.acknowledge, session, alert, by, notes)


def resolve(session: Session, alert: Alert, *, by: str, notes: str | None) -> None:
    _apply(service.resolve, session, alert, by, notes)
