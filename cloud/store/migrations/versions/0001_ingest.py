"""Ingest tables: stations, exceptions, devices, events, dead letters, dirty station-days, alerts.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


def _station_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["station_id"], ["stations.id"], name=f"fk_{table}_station_id_stations", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "stations",
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("town", sa.String(200), nullable=False),
        sa.Column("grade", sa.String(2), nullable=False),
        sa.Column("address", sa.String(500), nullable=True),
        sa.Column("weekdays", sa.String(32), nullable=False),
        sa.Column("hours", sa.String(200), nullable=False),
        sa.Column("open_on_holidays", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.CheckConstraint("grade IN ('2A', '3A', '4A', '5A')", name="ck_stations_grade"),
        sa.PrimaryKeyConstraint("id", name="pk_stations"),
    )
    op.create_index("ix_stations_town", "stations", ["town"])

    op.create_table(
        "station_exceptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        _station_fk("station_exceptions"),
        sa.PrimaryKeyConstraint("id", name="pk_station_exceptions"),
        sa.UniqueConstraint("station_id", "date", name="uq_station_exceptions_station_id_date"),
    )

    op.create_table(
        "devices",
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("device_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("first_seen_at", UTC_TS, nullable=False),
        sa.Column("last_seen_at", UTC_TS, nullable=False),
        sa.Column("last_health_ok", sa.Boolean(), nullable=True),
        sa.Column("last_health", JSON, nullable=True),
        sa.Column("last_health_at", UTC_TS, nullable=True),
        sa.Column("online", sa.Boolean(), nullable=True),
        _station_fk("devices"),
        sa.PrimaryKeyConstraint("station_id", "device_id", name="pk_devices"),
    )

    # Partition-ready: (id, ts) is the primary key; see docs/cloud-ingest.md for monthly partitions on PostgreSQL.
    op.create_table(
        "events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ts", UTC_TS, nullable=False),
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("device_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("received_at", UTC_TS, nullable=False),
        sa.Column("clock_fault", sa.Text(), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        _station_fk("events"),
        sa.PrimaryKeyConstraint("id", "ts", name="pk_events"),
        sa.UniqueConstraint("id", name="uq_events_id"),
    )
    op.create_index("ix_events_station_id_ts", "events", ["station_id", "ts"])
    op.create_index("ix_events_station_id_local_date", "events", ["station_id", "local_date"])

    op.create_table(
        "dead_letters",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("received_at", UTC_TS, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("station_id", sa.String(63), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"])
    op.create_index("ix_dead_letters_station_id", "dead_letters", ["station_id"])

    op.create_table(
        "dirty_station_days",
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("marked_at", UTC_TS, nullable=False),
        _station_fk("dirty_station_days"),
        sa.PrimaryKeyConstraint("station_id", "local_date", name="pk_dirty_station_days"),
    )

    op.create_table(
        "alerts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("cause_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("raised_at", UTC_TS, nullable=False),
        sa.Column("escalated_at", UTC_TS, nullable=True),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.Column("acknowledged_at", UTC_TS, nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.Column("resolved_at", UTC_TS, nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("evidence", JSON, nullable=True),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "kind IN ('emergency_call', 'spot_check_closed', 'spot_check_unverifiable', 'station_offline', "
            "'sensor_anomaly')",
            name="ck_alerts_kind",
        ),
        sa.CheckConstraint("status IN ('raised', 'acknowledged', 'resolved')", name="ck_alerts_status"),
        sa.CheckConstraint("level IN ('station', 'town', 'dispatch')", name="ck_alerts_level"),
        _station_fk("alerts"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("cause_key", name="uq_alerts_cause_key"),
    )
    op.create_index("ix_alerts_station_id", "alerts", ["station_id"])
    op.create_index("ix_alerts_status_raised_at", "alerts", ["status", "raised_at"])


def downgrade() -> None:
    for table in ("alerts", "dirty_station_days", "dead_letters", "events", "devices", "station_exceptions",
                  "stations"):
        op.drop_table(table)
