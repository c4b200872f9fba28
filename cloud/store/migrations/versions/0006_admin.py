"""The dashboard's administration: the audit log of changes to stations and users, and spot-check appeals.

Revision ID: 0006_admin
Revises: 0006_onsite
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_admin"
down_revision: str | Sequence[str] | None = "0006_onsite"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("at", UTC_TS, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("actor_role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target_kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("before", JSON, nullable=True),
        sa.Column("after", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_target_kind_target", "audit_log", ["target_kind", "target"])
    op.create_table(
        "appeals",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("plan_id", BIG_ID, nullable=False),
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.String(64), nullable=False),
        sa.Column("filed_at", UTC_TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["spot_check_plans.id"], name="fk_appeals_plan_id_spot_check_plans",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], name="fk_appeals_station_id_stations",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_appeals"),
        sa.UniqueConstraint("plan_id", "station_id", name="uq_appeals_plan_id_station_id"),
        sa.CheckConstraint("status IN ('pending', 'upheld', 'rejected')", name="ck_appeals_status"),
    )
    op.create_index("ix_appeals_station_id", "appeals", ["station_id"])


def downgrade() -> None:
    op.drop_index("ix_appeals_station_id", table_name="appeals")
    op.drop_table("appeals")
    op.drop_index("ix_audit_log_target_kind_target", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
