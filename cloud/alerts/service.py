"""The alert lifecycle over the store: raise (once per cause), escalate, acknowledge, resolve, and the one note rule.

Every write of an alert row goes through these functions, whoever makes it: ingest raising an emergency call on the
press, the worker raising, sharpening and resolving what its rules found, a person acknowledging or resolving in the
API. The caller commits.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cloud.alerts.kinds import AlertKind, AlertLevel, AlertSpec, AlertStatus
from cloud.alerts.queue import queue_call_ack
from cloud.store.locks import hold_row
from cloud.store.models import Alert

ALERTS = cast(Table, Alert.__table__)


class AlertError(ValueError):
    """An action the alert's state does not allow, or an unknown alert; the message is one plain line."""


Action = Callable[..., Alert]


# --- the one note rule -------------------------------------------------------------------------------------------
def add_note(alert: Alert, line: str | None) -> None:
    """Notes only grow: each line (an escalation, a person's remark, why the worker resolved it) is appended, so the
    alert keeps its whole story."""
    if line:
        alert.notes = f"{alert.notes}\n{line}" if alert.notes else line


# --- raising -----------------------------------------------------------------------------------------------------
def _row(spec: AlertSpec) -> dict[str, Any]:
    return {"kind": spec.kind.value, "station_id": spec.station, "cause_key": spec.cause_key,
            "status": AlertStatus.RAISED.value, "level": spec.level.value, "raised_at": spec.raised_at,
            "evidence": spec.evidence, "call_id": spec.call_id, "town": spec.town}


def _insert_new(db: Connection | Session) -> Any:
    """INSERT … ON CONFLICT (cause_key) DO NOTHING: another process (ingest, a worker) may have raised it first."""
    bind = db if isinstance(db, Connection) else db.get_bind()
    dialect = postgresql if bind.dialect.name == "postgresql" else sqlite
    return dialect.insert(ALERTS).on_conflict_do_nothing(index_elements=[ALERTS.c.cause_key])


def raise_new(connection: Connection, specs: Sequence[AlertSpec]) -> int:
    """Raise the alerts of causes not seen yet, in one statement; returns how many were new (ingest's fast path)."""
    if not specs:
        return 0
    return len(connection.execute(_insert_new(connection).returning(ALERTS.c.id), [_row(s) for s in specs]).all())


def by_cause(session: Session, cause_key: str, *, lock: bool = False) -> Alert | None:
    """The alert of a cause; with `lock`, its row locked until the caller commits and read afresh (see `find`)."""
    query = select(Alert).where(Alert.cause_key == cause_key)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


OPEN = (AlertStatus.RAISED, AlertStatus.ACKNOWLEDGED)


def find(session: Session, kinds: Iterable[AlertKind], *, station: str | None = None,
         statuses: Iterable[AlertStatus] = OPEN, level: AlertLevel | None = None,
         stations: Iterable[str] | None = None, lock: bool = False, skip_locked: bool = False) -> list[Alert]:
    """The alerts of these kinds and statuses (open ones by default), of one station (or of `stations`) and one
    level if given.

    With `lock` (a writer: the worker escalating or resolving), the rows stay locked until the caller commits and are
    read afresh; PostgreSQL re-checks the statuses on a row another transaction changed meanwhile, so one a person
    acknowledged or resolved a moment ago is not escalated or resolved again over their note. Locked in id order, so
    two such writers never deadlock; `skip_locked` leaves a row another transaction holds to the next pass instead of
    waiting for it."""
    query = select(Alert).where(Alert.kind.in_([k.value for k in kinds]),
                                Alert.status.in_([s.value for s in statuses]))
    if station is not None:
        query = query.where(Alert.station_id == station)
    if stations is not None:
        query = query.where(Alert.station_id.in_(list(stations)))
    if level is not None:
        query = query.where(Alert.level == level.value)
    if lock:
        query = (query.order_by(Alert.id).with_for_update(skip_locked=skip_locked)
                 .execution_options(populate_existing=True))
    return list(session.execute(query).scalars())


def raise_alert(session: Session, spec: AlertSpec) -> Alert:
    """The alert of `spec.cause_key`, raised now if it does not exist yet (never reopened once resolved). Later data
    may sharpen the evidence of one still raised."""
    session.execute(_insert_new(session).values(_row(spec)))
    alert = session.execute(select(Alert).where(Alert.cause_key == spec.cause_key)).scalar_one()
    if alert.status == AlertStatus.RAISED.value and alert.evidence != spec.evidence and spec.evidence:
        alert.evidence = spec.evidence
    return alert


def sharpen(alert: Alert, evidence: dict[str, Any], kind: AlertKind | None = None) -> None:
    """New evidence for an open alert (a stretch that grows while it lasts), or a sharper kind of the same cause (a
    spot check unverifiable that became a fail once the station's outbox replayed)."""
    alert.evidence = evidence
    if kind is not None:
        alert.kind = kind.value


# --- escalating, acknowledging, resolving ------------------------------------------------------------------------
def escalate(alert: Alert, level: AlertLevel, now: datetime, note: str) -> None:
    alert.level = level.value
    alert.escalated_at = now
    add_note(alert, note)


def move(alert: Alert, town: str | None, level: AlertLevel, now: datetime, note: str) -> None:
    """Send an open alert to whom it now belongs (a home-care alert goes by its elders' towns: one raised to another
    town, or to a town for a pattern now the bureau's); stamped like an escalation, so live streams see it change."""
    alert.town = town
    escalate(alert, level, now, note)


def resolve_row(alert: Alert, by: str, now: datetime, note: str | None) -> None:
    """Resolve a loaded alert: who, when and why (the note is appended). The one place an alert becomes resolved."""
    alert.status = AlertStatus.RESOLVED.value
    alert.resolved_by = by
    alert.resolved_at = now
    add_note(alert, note)


def resolve_all(alerts: Iterable[Alert], by: str, now: datetime, note: str) -> int:
    count = 0
    for alert in alerts:
        resolve_row(alert, by, now, note)
        count += 1
    return count


def clear(session: Session, cause_key: str, by: str, now: datetime, note: str) -> bool:
    """Resolve the open alert of a cause the data no longer shows; True if one was resolved."""
    alert = by_cause(session, cause_key, lock=True)
    if alert is None or alert.status == AlertStatus.RESOLVED.value:
        return False
    resolve_row(alert, by, now, note)
    return True


def _get(session: Session, alert_id: int) -> Alert:
    """The alert, its row locked until the caller commits and read afresh: a person's acknowledgement, another
    person's resolve and the worker's resolve may come at once from different processes, and each decides from the
    status it reads (without the lock, an acknowledgement read before a resolve committed would reopen the alert)."""
    hold_row(session, Alert, alert_id)
    alert = session.get(Alert, alert_id, populate_existing=True)
    if alert is None:
        raise AlertError(f"no alert {alert_id}")
    return alert


def acknowledge(session: Session, alert_id: int, by: str, now: datetime, notes: str | None = None) -> Alert:
    """Mark an alert acknowledged by `by` at `now`; for an emergency call, queue the `cmd/call-ack` to the station."""
    alert = _get(session, alert_id)
    if alert.status != AlertStatus.RAISED.value:
        raise AlertError(f"alert {alert_id} is already {alert.status}")
    if not by.strip():
        raise AlertError("say who acknowledges the alert")
    alert.status = AlertStatus.ACKNOWLEDGED.value
    alert.acknowledged_by = by
    alert.acknowledged_at = now
    add_note(alert, notes)
    session.flush()
    queue_call_ack(session, alert, by, now)
    return alert


def resolve(session: Session, alert_id: int, by: str, now: datetime, notes: str | None = None) -> Alert:
    """Mark an alert resolved by a person; an emergency call never acknowledged still gets its `cmd/call-ack`, so the
    station stops waiting."""
    alert = _get(session, alert_id)
    if alert.status == AlertStatus.RESOLVED.value:
        raise AlertError(f"alert {alert_id} is already resolved")
    if not by.strip():
        raise AlertError("say who resolves the alert")
    resolve_row(alert, by, now, notes)
    session.flush()
    queue_call_ack(session, alert, by, now)
    return alert
