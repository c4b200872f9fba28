"""Making the alerts table agree with what the worker's rules found: raise once per cause, keep the evidence of what
is still open current, resolve what the data no longer shows. The rules decide; these functions only write."""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from cloud.alerts import service
from cloud.alerts.kinds import ELDER, WORKER, AlertKind, AlertSpec, AlertStatus
from cloud.store.models import Alert

CANCELLED_NOTE = "cancelled by the elder at the station"


def calls(session: Session, presses: Iterable[tuple[AlertSpec, datetime | None]]) -> None:
    """Each emergency call pressed (ingest has usually raised it already), with when the elder cancelled it, if they
    did: a cancelled call is resolved at the cancel, by the elder."""
    for spec, cancelled_at in presses:
        alert = service.raise_alert(session, spec)
        if cancelled_at is not None and alert.status != AlertStatus.RESOLVED.value:
            service.resolve_row(alert, ELDER, cancelled_at, CANCELLED_NOTE)


def reconcile(session: Session, open_alerts: dict[str, Alert], wanted: Iterable[AlertSpec],
              gone: Iterable[tuple[str, str]], now: datetime,
              growing: frozenset[AlertKind] = frozenset({AlertKind.EQUIPMENT_OFF})) -> None:
    """Raise each `wanted` alert not open yet (`open_alerts`: open alerts by cause key); an open one of a `growing`
    kind takes the new evidence (a stretch that grows while it lasts). Resolve the open alerts of the `gone`
    (cause key, why) pairs, on the worker's behalf."""
    for spec in wanted:
        current = open_alerts.get(spec.cause_key)
        if current is None:
            service.raise_alert(session, spec)
        elif spec.kind in growing:
            service.sharpen(current, spec.evidence)
    for key, why in gone:
        alert = open_alerts.get(key)
        if alert is not None:
            service.resolve_row(alert, WORKER, now, why)


def spot_check(session: Session, cause_key: str, spec: AlertSpec | None, now: datetime, cleared: str) -> None:
    """The alert of one station's spot check: raised for a fail or an unverifiable result (`spec`), made the sharper
    kind while still open when the result changed (unverifiable became fail once the outbox replayed), resolved with
    `cleared` as the reason when the check now passes (`spec` None)."""
    if spec is None:
        service.clear(session, cause_key, WORKER, now, cleared)
        return
    existing = service.by_cause(session, cause_key, lock=True)
    if existing is not None and existing.kind != spec.kind and existing.status != AlertStatus.RESOLVED.value:
        service.sharpen(existing, spec.evidence, spec.kind)
        return
    service.raise_alert(session, spec)


def resolve_all(alerts: Iterable[Alert], now: datetime, why: str) -> int:
    """Resolve these alerts on the worker's behalf; returns how many."""
    return service.resolve_all(alerts, WORKER, now, why)
