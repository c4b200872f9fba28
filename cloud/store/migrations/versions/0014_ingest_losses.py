"""Messages the platform lost: `ingest_losses` (client id, the window lost_from..lost_to in UTC, reason, when it was
recorded), written by an ingester that finds the broker no longer has its session, read by the derivations. A new
table: no existing one is touched. The downgrade drops it.

Revision ID: 0014_ingest_losses
Revises: 0013_homecare_late_uploads
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

UTC_TS = sa.DateTime(timezone=True)

revision: str = "0014_ingest_losses"
down_revision: str | Sequence[str] | None = "0013_homecare_late_uploads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_losses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("lost_from", UTC_TS, nullable=False),
        sa.Column("lost_to", UTC_TS, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTC_TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_losses")),
    )
    op.create_index("ix_ingest_losses_window", "ingest_losses", ["lost_from", "lost_to"])


def downgrade() -> None:
    op.drop_index("ix_ingest_losses_window", table_name="ingest_losses")
    op.drop_table("ingest_losses")
