"""On-site spot-check visits: what the inspector found beside the sensor verdict, and the bureau's decision.

Revision ID: 0006_onsite
Revises: 0005_closures
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_onsite"
down_revision: str | Sequence[str] | None = "0005_closures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "spot_check_visits",
        sa.Column("plan_id", BIG_ID, nullable=False),
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("found", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("visited_at", UTC_TS, nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", UTC_TS, nullable=False),
        sa.Column("decided_outcome", sa.String(16), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("sensor_at_decision", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["spot_check_plans.id"],
                                name="fk_spot_check_visits_plan_id_spot_check_plans", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], name="fk_spot_check_visits_station_id_stations",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id", "station_id", name="pk_spot_check_visits"),
        sa.CheckConstraint("found IN ('open', 'closed', 'other')", name="found"),
        sa.CheckConstraint("decided_outcome IS NULL OR decided_outcome IN ('pass', 'fail', 'excused')",
                           name="decided_outcome"),
    )


def downgrade() -> None:
    op.drop_table("spot_check_visits")
