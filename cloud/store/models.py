"""The declarative base and the ingest-side tables (revision 0001).

Other areas add their tables in their own modules of this package (subclassing `Base`) and their own Alembic
revisions branching from "0001"; `cloud.store.migrations` imports every module of the package for autogenerate.
Timestamps are `UTCDateTime`: stored in UTC, always read back timezone-aware, on SQLite too.
"""

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cloud.alerts.kinds import AlertKind, AlertLevel, AlertStatus
from firmware_config.grade import GRADES
from firmware_config.kind import KINDS
from firmware_config.schedule import Schedule

# Stable constraint names, so migrations can refer to them on both dialects.
NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LEN = 63
# A station (居家养老服务站) has its grade; a care centre or neighbourhood point has none.
KIND_GRADE = "(kind = 'station' AND grade IS NOT NULL) OR (kind <> 'station' AND grade IS NULL)"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC; SQLite's naive values come back tagged as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone (store UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (indexable), JSON text on SQLite.
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table in the store."""

    metadata = MetaData(naming_convention=NAMING)


def _in(values: tuple[str, ...] | type[StrEnum]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class Station(Base):
    """A registered station: who it is, its kind and grade (a station's; the other kinds have none) and its weekly
    working hours (firmware_config Schedule syntax)."""

    __tablename__ = "stations"
    __table_args__ = (CheckConstraint(f"grade IN ({_in(GRADES)})", name="grade"),
                      CheckConstraint(f"kind IN ({_in(KINDS)})", name="kind"),
                      CheckConstraint(KIND_GRADE, name="kind_grade"))

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    town: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(24), default="station", server_default="station")
    grade: Mapped[str | None] = mapped_column(String(2))
    address: Mapped[str | None] = mapped_column(String(500))
    weekdays: Mapped[str] = mapped_column(String(32), doc="ISO weekdays, e.g. '1,2,3,4,5'")
    hours: Mapped[str] = mapped_column(String(200), doc="sessions, e.g. '08:30-11:30 13:30-17:00'")
    open_on_holidays: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def schedule(self) -> Schedule:
        """The station's current schedule as the shared typed model: the version in force today and from then on
        (a change applies from its own day, never a later one). A past day is judged by the version in force on it:
        `cloud.store.schedules.station_history`."""
        return Schedule(
            weekdays=self.weekdays,  # parsed by the model's validator
            hours=self.hours,
            open_on_holidays=self.open_on_holidays,
            timezone=self.timezone,
        )


class StationException(Base):
    """An announced closure (approved leave, typhoon, renovation) that excuses one day."""

    __tablename__ = "station_exceptions"
    __table_args__ = (UniqueConstraint("station_id", "date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(Base):
    """A device of a station as last seen by ingest; the agent itself is device `agent` with `online`."""

    __tablename__ = "devices"

    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), doc="last message type seen (flow, door, face, call, agent)")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_health_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_health: Mapped[dict[str, Any] | None] = mapped_column(JSONType, doc="last health payload (error, detail)")
    last_health_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    online: Mapped[bool | None] = mapped_column(Boolean, doc="agent only: its retained status")


class Event(Base):
    """One raw protocol message. `id` is the idempotency key (the protocol: stored once however often it arrives).

    Partition-ready: the primary key is (id, ts), as PostgreSQL requires the partition key (ts) in every unique
    key of a partitioned table; docs/cloud-ingest.md gives the DDL to partition by month. A replay conflicts on it;
    ingest's insert refuses an id stored at another ts by probing the same index (migration 0004: cheaper than a
    second unique key, which a partitioned table could not have anyway). Deliberately no foreign key to `stations`
    (also 0004): ingest stores events of registered stations only, the per-row check was a fifth of the insert's
    cost, and this evidence must not vanish by cascade if a station is removed. The payload is plain JSON: the
    validated message re-encoded by ingest (fields the protocol does not define are dropped, never stored). Status
    and heartbeat messages have no id in the protocol; ingest derives a deterministic UUIDv5.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_station_id_ts", "station_id", "ts"),
        Index("ix_events_station_id_local_date", "station_id", "local_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, doc="when it happened, UTC")
    station_id: Mapped[str] = mapped_column(String(ID_LEN))
    device_id: Mapped[str] = mapped_column(String(ID_LEN))
    kind: Mapped[str] = mapped_column(String(16), doc="flow, door, face, call, health, status, heartbeat")
    local_date: Mapped[date] = mapped_column(Date, doc="ts's date in the station's timezone")
    seq: Mapped[int | None] = mapped_column(BigInteger, doc="per-device sequence; null for status/heartbeat")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_by: Mapped[str | None] = mapped_column(
        Text, doc="the ingester (MQTT client id) that received it: with two ingesters on the shared subscription, one "
                  "down has its share of every station's messages queued by the broker and delivered late")
    clock_fault: Mapped[str | None] = mapped_column(Text, doc="why ts cannot be trusted; such events count nowhere")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True),
                                                    doc="the validated message, re-encoded: no field it did not define")


class DeadLetter(Base):
    """A message refused by ingest, kept with the reason and the first 4 KiB of its raw bytes (with the whole
    payload's size and SHA-256: junk is not stored whole)."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    topic: Mapped[str] = mapped_column(Text)
    payload: Mapped[bytes] = mapped_column(LargeBinary, doc="the payload's first 4 KiB")
    payload_size: Mapped[int | None] = mapped_column(BigInteger, doc="the whole payload's size in bytes")
    payload_sha256: Mapped[str | None] = mapped_column(String(64), doc="SHA-256 of the whole payload, hex")
    reason: Mapped[str] = mapped_column(Text)
    station_id: Mapped[str | None] = mapped_column(String(ID_LEN), index=True, doc="from the topic, if parseable")


class DirtyStationDay(Base):
    """A station-day whose derived results must be recomputed; upserted in the same transaction as its events.

    A worker reads (station, date, generation), recomputes, then deletes the row only if `generation` is unchanged,
    so events arriving meanwhile (late replays too) are never missed.
    """

    __tablename__ = "dirty_station_days"

    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=1)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Base):
    """An alert; `cause_key` is unique so one cause raises one alert. Written only through `cloud.alerts`."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(AlertKind)})", name="kind"),
        CheckConstraint(f"status IN ({_in(AlertStatus)})", name="status"),
        CheckConstraint(f"level IN ({_in(AlertLevel)})", name="level"),
        Index("ix_alerts_status_raised_at", "status", "raised_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    station_id: Mapped[str | None] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), index=True,
                                                   doc="null for a bureau alert of no station")
    cause_key: Mapped[str] = mapped_column(String(200), unique=True, doc="e.g. call:{station}:{call}")
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.RAISED.value)
    level: Mapped[str] = mapped_column(String(16), default=AlertLevel.STATION.value)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    call_id: Mapped[str | None] = mapped_column(String(64))
    town: Mapped[str | None] = mapped_column(String(200), index=True,
                                             doc="home-care alerts (no station): the town of the elders "
                                                 "its evidence names, which sees it; none: the bureau's")
