"""Tables of the derivations (revisions 0002, 0005_rules): day and month results, spot-check plans and results,
vetoes, and commands waiting to be published to stations. Each result row keeps the exact JSON line `cloud derive`
prints."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.store.models import ID_LEN, Base, JSONType, UTCDateTime, utcnow

BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class DayResult(Base):
    """One station-day as derived by the rules; `record` is the `{"type": "day", ...}` line with its evidence."""

    __tablename__ = "day_results"
    __table_args__ = (Index("ix_day_results_local_date_verdict", "local_date", "verdict"),)

    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    working_day: Mapped[bool | None] = mapped_column(Boolean)
    verdict: Mapped[str] = mapped_column(String(16))
    compliance: Mapped[float | None] = mapped_column(Float)
    person_times: Mapped[int] = mapped_column(Integer)
    elders: Mapped[int] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MonthResult(Base):
    """One station-month roll-up; `record` is the `{"type": "month", ...}` line."""

    __tablename__ = "month_results"

    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True, doc="YYYY-MM")
    elders: Mapped[int] = mapped_column(Integer)
    person_times: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int | None] = mapped_column(Integer, doc="null: the kind has no monthly threshold")
    met: Mapped[bool | None] = mapped_column(Boolean, doc="null: cannot be confirmed (no face data)")
    at_risk: Mapped[bool | None] = mapped_column(Boolean)
    compliance: Mapped[float | None] = mapped_column(Float)
    record: Mapped[dict[str, Any]] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SpotCheckPlan(Base):
    """A planned spot check: a local day and window, and the stations drawn (never shown to stations)."""

    __tablename__ = "spot_check_plans"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    local_date: Mapped[date] = mapped_column(Date, index=True)
    start: Mapped[str] = mapped_column(String(5), doc="HH:MM local")
    end: Mapped[str] = mapped_column(String(5), doc="HH:MM local")
    scope: Mapped[str] = mapped_column(String(16), doc="all, town, random or stations")
    town: Mapped[str | None] = mapped_column(String(200))
    sample: Mapped[int | None] = mapped_column(Integer, doc="random: how many stations were drawn")
    seed: Mapped[int | None] = mapped_column(BigInteger, doc="random: the seed, recorded for audit")
    stations: Mapped[list[str]] = mapped_column(JSONType, doc="the stations checked, fixed when planned")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    planner_role: Mapped[str] = mapped_column(String(16), default="bureau", server_default="bureau",
                                              doc="bureau or town: whose check it is (the veto counts the bureau's)")


class SpotCheckResult(Base):
    """A station's result on a planned check; `record` is the `{"type": "spot_check", ...}` line."""

    __tablename__ = "spot_check_results"

    plan_id: Mapped[int] = mapped_column(ForeignKey("spot_check_plans.id", ondelete="CASCADE"), primary_key=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    result: Mapped[str] = mapped_column(String(16))
    record: Mapped[dict[str, Any]] = mapped_column(JSONType)
    judged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Veto(Base):
    """Failed spot checks of a station in a year; `veto` from the third (一票否决)."""

    __tablename__ = "vetoes"

    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    failed: Mapped[int] = mapped_column(Integer)
    veto: Mapped[bool | None] = mapped_column(Boolean, doc="null: the kind has no veto (no grade)")
    failed_dates: Mapped[list[str]] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutgoingCommand(Base):
    """A command for a station (e.g. `call-ack`), queued and published through `cloud.alerts`; kept with when it went
    out."""

    __tablename__ = "outgoing_commands"
    __table_args__ = (Index("ix_outgoing_commands_published_at", "published_at"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(ID_LEN), index=True)
    name: Mapped[str] = mapped_column(String(32), doc="the cmd/{name} topic segment")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, doc="the command's JSON as published")
    alert_id: Mapped[int | None] = mapped_column(BIG_ID)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
