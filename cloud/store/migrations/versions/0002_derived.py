"""Derivation tables: day_results, month_results, spot_check_plans, spot_check_results, vetoes, outgoing_commands.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _station_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["station_id"], ["stations.id"], name=f"fk_{table}_station_id_stations", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "day_results",
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("working_day", sa.Boolean(), nullable=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("compliance", sa.Float(), nullable=True),
        sa.Column("person_times", sa.Integer(), nullable=False),
        sa.Column("elders", sa.Integer(), nullable=False),
        sa.Column("record", JSON, nullable=False),
        sa.Column("computed_at", UTC_TS, nullable=False),
        _station_fk("day_results"),
        sa.PrimaryKeyConstraint("station_id", "local_date", name="pk_day_results"),
    )
    op.create_index("ix_day_results_local_date_verdict", "day_results", ["local_date", "verdict"])
    op.create_table(
        "month_results",
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("elders", sa.Integer(), nullable=False),
        sa.Column("person_times", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("at_risk", sa.Boolean(), nullable=False),
        sa.Column("compliance", sa.Float(), nullable=True),
        sa.Column("record", JSON, nullable=False),
        sa.Column("computed_at", UTC_TS, nullable=False),
        _station_fk("month_results"),
        sa.PrimaryKeyConstraint("station_id", "month", name="pk_month_results"),
    )
    op.create_table(
        "spot_check_plans",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("start", sa.String(5), nullable=False),
        sa.Column("end", sa.String(5), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("town", sa.String(200), nullable=True),
        sa.Column("sample", sa.Integer(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("stations", JSON, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_spot_check_plans"),
    )
    op.create_index("ix_spot_check_plans_local_date", "spot_check_plans", ["local_date"])
    op.create_table(
        "spot_check_results",
        sa.Column("plan_id", BIG_ID, nullable=False),
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("record", JSON, nullable=False),
        sa.Column("judged_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["spot_check_plans.id"],
                                name="fk_spot_check_results_plan_id_spot_check_plans", ondelete="CASCADE"),
        _station_fk("spot_check_results"),
        sa.PrimaryKeyConstraint("plan_id", "station_id", name="pk_spot_check_results"),
    )
    op.create_table(
        "vetoes",
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("veto", sa.Boolean(), nullable=False),
        sa.Column("failed_dates", JSON, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        _station_fk("vetoes"),
        sa.PrimaryKeyConstraint("station_id", "year", name="pk_vetoes"),
    )
    op.create_table(
        "outgoing_commands",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("alert_id", BIG_ID, nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("published_at", UTC_TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outgoing_commands"),
    )
    op.create_index("ix_outgoing_commands_published_at", "outgoing_commands", ["published_at"])
    op.create_index("ix_outgoing_commands_station_id", "outgoing_commands", ["station_id"])


def downgrade() -> None:
    op.drop_table("outgoing_commands")
    op.drop_table("vetoes")
    op.drop_table("spot_check_results")
    op.drop_table("spot_check_plans")
    op.drop_table("month_results")
    op.drop_table("day_results")
