"""Closure requests (停业/闭站申请) and their decisions; approved days are written to station_exceptions.

Revision ID: 0005_closures
Revises: 0005_dead_letter_digest
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_closures"
down_revision: str | Sequence[str] | None = "0005_dead_letter_digest"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "closures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", UTC_TS, nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("late_days", sa.JSON(), nullable=False),
        sa.Column("late_decided_by", sa.String(64), nullable=True),
        sa.Column("late_decided_at", UTC_TS, nullable=True),
        sa.Column("late_decision_reason", sa.Text(), nullable=True),
        sa.Column("late_excused", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], name="fk_closures_station_id_stations",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_closures"),
        sa.CheckConstraint("first_day <= last_day", name="ck_closures_range"),
        sa.CheckConstraint("status IN ('requested', 'approved', 'rejected')", name="ck_closures_status"),
    )
    op.create_index("ix_closures_station_id", "closures", ["station_id"])


def downgrade() -> None:
    op.drop_index("ix_closures_station_id", table_name="closures")
    op.drop_table("closures")
