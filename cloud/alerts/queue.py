"""The queue of commands for stations (`outgoing_commands`): queued in the transaction that decides them, published by
the sender (`cloud.alerts.sender`), each kept with its attempts, its last error and when the broker confirmed it."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.alerts.kinds import AlertKind
from cloud.store.derived import OutgoingCommand
from cloud.store.models import Alert
from station_protocol import CallAck

CALL_ACK = "call-ack"


def queue_call_ack(session: Session, alert: Alert, by: str, now: datetime) -> OutgoingCommand | None:
    """Queue the `cmd/call-ack` that tells the station its emergency call was answered: once per call, whoever
    answered it first. None for another kind of alert, or when it is queued already."""
    if alert.kind != AlertKind.EMERGENCY_CALL.value or not alert.call_id or alert.station_id is None:
        return None
    already = session.execute(select(OutgoingCommand.id).where(OutgoingCommand.alert_id == alert.id,
                                                               OutgoingCommand.name == CALL_ACK)).first()
    if already is not None:
        return None
    ack = CallAck(v=1, call=alert.call_id, by=by, ts=now)
    command = OutgoingCommand(station_id=alert.station_id, name=CALL_ACK, alert_id=alert.id, created_at=now,
                              payload=ack.model_dump(mode="json", by_alias=True, exclude_none=True), attempts=0)
    session.add(command)
    return command


def has_pending(session: Session) -> bool:
    return session.execute(select(OutgoingCommand.id).where(OutgoingCommand.published_at.is_(None)).limit(1)
                           ).first() is not None


def pending(session: Session) -> Sequence[OutgoingCommand]:
    """Every unsent command, oldest first (one that keeps failing does not hold back the others), locked against a
    second sender where the database can (PostgreSQL)."""
    query = (select(OutgoingCommand).where(OutgoingCommand.published_at.is_(None)).order_by(OutgoingCommand.id)
             .with_for_update(skip_locked=True))
    return session.execute(query).scalars().all()


def attempted(command: OutgoingCommand) -> None:
    command.attempts += 1


def sent(command: OutgoingCommand, now: datetime) -> None:
    command.published_at = now
    command.last_error = None


def failed(command: OutgoingCommand, error: str) -> None:
    command.last_error = error[:500]
