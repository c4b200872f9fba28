"""Tables of the dashboard's administration (revision 0006_admin): the audit log of every change made to stations
and users through the API, and appeals against failed spot checks.

An audit entry keeps who, when, what (an action and its target) and the target's values before and after the change;
a password is never among them (only the fact that it changed). An appeal references the spot-check result it
contests by that result's key (plan id, station id), not by a foreign key to the result row: the worker rewrites
results when it re-derives a day, and the appeal must outlive that.
"""

import getpass
import os
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    exists,
    not_,
)
from sqlalchemy.orm import Mapped, mapped_column

from cloud.store.derived import SpotCheckResult
from cloud.store.models import Base, JSONType, UTCDateTime, utcnow

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class AuditEntry(Base):
    """One change: who made it, when, to what, and the values before and after (null for a creation/none)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target_kind_target", "target_kind", "target"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32), doc="e.g. station.add, user.disable, appeal.decide")
    target_kind: Mapped[str] = mapped_column(String(16), doc="station, user or appeal")
    target: Mapped[str] = mapped_column(String(200), doc="the station id, user name or appeal id")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


def command_line_actor() -> tuple[str, str]:
    """Who a change made at the server's shell is recorded as: the operating-system account, role `cli`."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (some containers)
        name = f"uid {os.getuid()}"
    return f"cli:{name}"[:64], "cli"


class AppealStatus(StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"


def _in(values: type[StrEnum]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Appeal(Base):
    """A station's appeal against one failed spot check (one per check, ever), and the town's or bureau's decision."""

    __tablename__ = "appeals"
    __table_args__ = (
        UniqueConstraint("plan_id", "station_id"),
        CheckConstraint(f"status IN ({_in(AppealStatus)})", name="status"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("spot_check_plans.id", ondelete="CASCADE"))
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(64))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=AppealStatus.PENDING.value)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)


def counts_toward_veto() -> ColumnElement[bool]:
    """A WHERE condition on spot_check_results: the results the veto counts.

    The rule: an upheld appeal takes that one check (plan, station) out of the veto's count, and nothing else; the
    result itself is kept, shown and exported beside the appeal. A pending or rejected appeal changes nothing. A day
    still counts as failed when another check of it failed and was not upheld (the veto counts failed days).
    """
    return not_(exists().where(and_(
        Appeal.plan_id == SpotCheckResult.plan_id, Appeal.station_id == SpotCheckResult.station_id,
        Appeal.status == AppealStatus.UPHELD.value,
    )))
