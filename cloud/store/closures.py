"""Closure requests (停业/闭站申请): a station asks to be excused for a date range; its town (or the bureau) decides.

An approved closure writes one `station_exceptions` row per day, which the derivations read. A day on which a spot
check of the station had begun (its window started) or been judged when the approval came is not excused by it: the
approval is kept and marked late, and only a bureau decision on those days excuses them. Otherwise a station could
erase a failed check by asking afterwards — or, once the inspector has found it shut, by asking while the window
still runs and the worker has not judged it yet.
"""

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from cloud.store.derived import SpotCheckPlan, SpotCheckResult
from cloud.store.models import Base, Station, StationException, UTCDateTime, utcnow

MAX_DAYS = 366


class ClosureStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


class Closure(Base):
    __tablename__ = "closures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ClosureStatus.REQUESTED.value)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # Days a spot check had begun or judged before the approval: not excused unless the bureau decides so.
    late_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    late_decided_by: Mapped[str | None] = mapped_column(String(64))
    late_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late_decision_reason: Mapped[str | None] = mapped_column(Text)
    late_excused: Mapped[bool | None] = mapped_column(default=None)


def days_of(closure: Closure) -> list[date]:
    return [closure.first_day + timedelta(days=i) for i in range((closure.last_day - closure.first_day).days + 1)]


def checked_days(session: Session, station: str, days: Iterable[date], now: datetime) -> set[date]:
    """The days among `days` on which a spot check of `station` has been judged, or had begun by `now` (its window
    started, in the station's zone): a check under way is as good as judged, since the inspector may be at the door."""
    wanted = list(days)
    if not wanted:
        return set()
    judged = set(session.scalars(
        select(SpotCheckPlan.local_date).join(SpotCheckResult, SpotCheckResult.plan_id == SpotCheckPlan.id)
        .where(SpotCheckResult.station_id == station, SpotCheckPlan.local_date.in_(wanted))
    ))
    zone = ZoneInfo(session.scalars(select(Station.timezone).where(Station.id == station)).one())
    begun = {plan.local_date for plan in session.scalars(select(SpotCheckPlan)
                                                         .where(SpotCheckPlan.local_date.in_(wanted)))
             if station in plan.stations
             and datetime.combine(plan.local_date, time.fromisoformat(plan.start), zone) <= now}
    return judged | begun


def excuse(session: Session, station: str, days: Iterable[date], reason: str, by: str, now: datetime) -> list[date]:
    """Write the exception rows (one per day not excused already); returns the days written. The caller marks them
    dirty and commits."""
    wanted = sorted(set(days))
    if not wanted:
        return []
    # One statement that skips the days excused already, not a read then an insert: two closures of the same days
    # approved at once (two API processes) both succeed, each day excused once, by the first to commit.
    insert: Any = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = StationException.__table__
    statement = (insert(table).values([{"station_id": station, "date": d, "reason": reason, "approved_by": by,
                                        "created_at": now} for d in wanted])
                 .on_conflict_do_nothing(index_elements=[table.c.station_id, table.c.date])
                 .returning(table.c.date))
    return sorted(session.execute(statement).scalars())


def _decide(closure: Closure, status: ClosureStatus, by: str, reason: str, now: datetime) -> None:
    """The town's (or bureau's) decision on a request: who, when and why, kept whatever it was."""
    closure.status = status.value
    closure.decided_by, closure.decided_at, closure.decision_reason = by, now, reason


def reject(closure: Closure, by: str, reason: str, now: datetime) -> None:
    """Reject: nothing is excused."""
    _decide(closure, ClosureStatus.REJECTED, by, reason, now)


def approve(session: Session, closure: Closure, by: str, reason: str, now: datetime) -> list[date]:
    """Approve: excuse every day no spot check has begun on yet; returns the days excused (to recompute)."""
    days = days_of(closure)
    late = checked_days(session, closure.station_id, days, now)
    _decide(closure, ClosureStatus.APPROVED, by, reason, now)
    closure.late_days = [d.isoformat() for d in sorted(late)]
    return excuse(session, closure.station_id, [d for d in days if d not in late], closure.reason, by, now)


def decide_late(session: Session, closure: Closure, by: str, excused: bool, reason: str, now: datetime) -> list[date]:
    """The bureau's decision on a late approval's judged days; returns the days excused by it."""
    closure.late_excused = excused
    closure.late_decided_by, closure.late_decided_at, closure.late_decision_reason = by, now, reason
    if not excused:
        return []
    days = [date.fromisoformat(d) for d in closure.late_days]
    return excuse(session, closure.station_id, days, closure.reason, by, now)


def to_dict(closure: Closure) -> dict[str, Any]:
    return {c.name: getattr(closure, c.key) for c in Closure.__table__.columns}
