"""The time checks the cloud sent (revision `0016_time_checks_asked`): one row per `cmd/time-check` the broker
confirmed, written by the sender, read by the derivations (cloud.rules.unanswered) and the evidence export.

Without this record a station whose agent answers no check at all would escape the time check: its days would show
no answer, and nothing would say it had been asked.
"""

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Index, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cloud.rules.unanswered import Ask
from cloud.store.models import Base, UTCDateTime


class TimeCheckAsked(Base):
    """One time check sent to a station: its id (the `check` its answer echoes) and when the cloud asked (the `ts`
    it carried, by the cloud's clock, UTC)."""

    __tablename__ = "time_checks_asked"
    __table_args__ = (Index("ix_time_checks_asked_station_asked_at", "station_id", "asked_at"),)

    check_id: Mapped[str] = mapped_column(Text, primary_key=True)
    station_id: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime)


def record_asked(session: Session, station: str, check: str, asked_at: datetime) -> None:
    """The broker confirmed check `check` to `station`, asked at `asked_at`. The caller commits."""
    session.add(TimeCheckAsked(check_id=check, station_id=station, asked_at=asked_at))


def asks(session: Session, station: str, start: float, end: float) -> list[Ask]:
    """The station's checks asked in [start, end) (epoch seconds), in order."""
    rows = session.execute(select(TimeCheckAsked.check_id, TimeCheckAsked.asked_at).where(
        TimeCheckAsked.station_id == station, TimeCheckAsked.asked_at >= datetime.fromtimestamp(start, UTC),
        TimeCheckAsked.asked_at < datetime.fromtimestamp(end, UTC)).order_by(TimeCheckAsked.asked_at,
                                                                              TimeCheckAsked.check_id))
    return [Ask(check, at.timestamp()) for check, at in rows]


def ask_rows(session: Session, station: str, start: datetime, end: datetime) -> Iterable[tuple[str, datetime]]:
    """(check id, asked at) of the station's checks asked in [start, end), in order, for an export."""
    return session.execute(select(TimeCheckAsked.check_id, TimeCheckAsked.asked_at).where(
        TimeCheckAsked.station_id == station, TimeCheckAsked.asked_at >= start, TimeCheckAsked.asked_at < end)
        .order_by(TimeCheckAsked.asked_at, TimeCheckAsked.check_id)).tuples()
