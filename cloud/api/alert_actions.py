"""Acknowledge and resolve an alert (interim: until the alerts service lands, which also queues `cmd/call-ack`)."""

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from cloud.store.models import Alert, AlertStatus


def acknowledge(session: Session, alert: Alert, *, by: str, notes: str | None) -> None:
    alert.status = AlertStatus.ACKNOWLEDGED.value
    alert.acknowledged_by = by
    alert.acknowledged_at = datetime.now(UTC)
    if notes:
        alert.notes = notes
    session.commit()


def resolve(session: Session, alert: Alert, *, by: str, notes: str | None) -> None:
    alert.status = AlertStatus.RESOLVED.value
    alert.resolved_by = by
    alert.resolved_at = datetime.now(UTC)
    if notes:
        alert.notes = notes
    session.commit()
