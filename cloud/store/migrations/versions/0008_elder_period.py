"""An elder's service period: `since` and `until` on homecare_elders, the first and last day of government-bought
care (days in the elder's zone, both included). Both nullable: every existing elder keeps no limit, so its months
are judged whole, as before. The downgrade drops the two columns (the periods are lost; the elders stay).

Revision ID: 0008_elder_period
Revises: 0007_schedule_history
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_elder_period"
down_revision: str | Sequence[str] | None = "0007_schedule_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("homecare_elders") as batch:
        batch.add_column(sa.Column("since", sa.Date(), nullable=True))
        batch.add_column(sa.Column("until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("homecare_elders") as batch:
        batch.drop_column("until")
        batch.drop_column("since")
