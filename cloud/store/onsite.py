"""On-site visits of planned spot checks (revision 0006_onsite): what the inspector found, and the bureau's decision.

A visit is keyed like the sensor's result, by (plan, station): the worker rewrites a result row whenever it
re-judges the day, but the visit row, and the decision on it, are only ever written by people.
"""

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import ColumnElement, ForeignKey, String, Text, and_, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from cloud.rules.onsite import Found, Review, review
from cloud.rules.spotcheck import SpotResult
from cloud.store.derived import BIG_ID, SpotCheckPlan, SpotCheckResult
from cloud.store.models import ID_LEN, Base, UTCDateTime


class SpotCheckVisit(Base):
    """One station's on-site check on a plan: recorded once by an inspector, decided once by the bureau."""

    __tablename__ = "spot_check_visits"

    plan_id: Mapped[int] = mapped_column(BIG_ID, ForeignKey("spot_check_plans.id", ondelete="CASCADE"),
                                         primary_key=True)
    station_id: Mapped[str] = mapped_column(String(ID_LEN), ForeignKey("stations.id", ondelete="CASCADE"),
                                            primary_key=True)
    found: Mapped[str] = mapped_column(String(16), doc="open, closed or other")
    notes: Mapped[str] = mapped_column(Text, default="")
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime, doc="when the inspector was at the door")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_outcome: Mapped[str | None] = mapped_column(String(16), doc="pass, fail or excused: what counts")
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    sensor_at_decision: Mapped[str | None] = mapped_column(String(16), doc="the sensor result the bureau saw")


def visit_review(result: SpotCheckResult | None, visit: SpotCheckVisit | None) -> Review:
    return review(SpotResult(result.result) if result is not None else None,
                  Found(visit.found) if visit is not None else None,
                  SpotResult(visit.decided_outcome) if visit is not None and visit.decided_outcome else None)


def counted_result() -> ColumnElement[str]:
    """SQL for the result that counts (query joined with an outer join on the visits): the bureau's decision, else
    the sensor's."""
    return func.coalesce(SpotCheckVisit.decided_outcome, SpotCheckResult.result)


def record(session: Session, plan: SpotCheckPlan, station: str, found: Found, notes: str, visited_at: datetime,
           by: str, now: datetime) -> SpotCheckVisit:
    """Keep an inspector's record (the caller has checked it is the first one and commits)."""
    visit = SpotCheckVisit(plan_id=plan.id, station_id=station, found=found.value, notes=notes,
                           visited_at=visited_at, recorded_by=by, recorded_at=now)
    session.add(visit)
    session.flush()
    return visit


def decide(visit: SpotCheckVisit, sensor: SpotResult, outcome: SpotResult, by: str, reason: str,
           now: datetime) -> None:
    """The bureau's decision on a disputed check: who, when, why, and the sensor result it was weighed against."""
    visit.decided_outcome, visit.sensor_at_decision = outcome.value, sensor.value
    visit.decided_by, visit.decided_at, visit.decision_reason = by, now, reason


def decisions(session: Session, stations: Iterable[str] | None = None,
              first: date | None = None, last: date | None = None) -> list[tuple[SpotCheckVisit, SpotCheckPlan]]:
    """The decided visits (with their plans), by date and station."""
    query = (select(SpotCheckVisit, SpotCheckPlan).join(SpotCheckPlan, SpotCheckPlan.id == SpotCheckVisit.plan_id)
             .where(SpotCheckVisit.decided_outcome.is_not(None)))
    if stations is not None:
        query = query.where(SpotCheckVisit.station_id.in_(list(stations)))
    if first is not None:
        query = query.where(SpotCheckPlan.local_date >= first)
    if last is not None:
        query = query.where(SpotCheckPlan.local_date <= last)
    rows = session.execute(query.order_by(SpotCheckPlan.local_date, SpotCheckVisit.station_id)).tuples()
    return list(rows)


def visit_join() -> ColumnElement[bool]:
    """The ON clause joining a result to its visit."""
    return and_(SpotCheckVisit.plan_id == SpotCheckResult.plan_id,
                SpotCheckVisit.station_id == SpotCheckResult.station_id)
