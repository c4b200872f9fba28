"""Making the alerts table agree with what the rules say: raise once per cause, clear what no longer holds."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.derive.storeio import insert_ignore
from cloud.rules.alerts import AlertSpec
from cloud.store.models import Alert, AlertStatus

WORKER = "worker"


def ensure(session: Session, spec: AlertSpec) -> Alert:
    """The alert of `spec.cause_key`, raised now if it does not exist yet (never reopened once resolved)."""
    row = {
        "kind": spec.kind, "station_id": spec.station, "cause_key": spec.cause_key,
        "status": AlertStatus.RAISED.value, "level": spec.level, "raised_at": spec.raised_at,
        "evidence": spec.evidence, "call_id": spec.call_id, "town": spec.town,
    }
    insert_ignore(session, Alert.__table__, row, ["cause_key"])  # type: ignore[arg-type]
    alert = session.execute(select(Alert).where(Alert.cause_key == spec.cause_key)).scalar_one()
    if alert.status == AlertStatus.RAISED.value and alert.evidence != spec.evidence and spec.evidence:
        alert.evidence = spec.evidence  # later data may sharpen the evidence of an open alert
    return alert


def clear(session: Session, cause_key: str, now: datetime, note: str) -> bool:
    """Resolve an open alert whose cause the recomputed data no longer shows; True if one was resolved."""
    alert = session.execute(select(Alert).where(Alert.cause_key == cause_key)).scalar_one_or_none()
    if alert is None or alert.status == AlertStatus.RESOLVED.value:
        return False
    resolve_row(alert, now, note)
    return True


def resolve_row(alert: Alert, now: datetime, note: str) -> None:
    """Resolve a loaded alert on the worker's behalf, saying why."""
    alert.status = AlertStatus.RESOLVED.value
    alert.resolved_by = WORKER
    alert.resolved_at = now
    alert.notes = _append(alert.notes, note)


def _append(notes: str | None, line: str) -> str:
    return f"{notes}\n{line}" if notes else line
