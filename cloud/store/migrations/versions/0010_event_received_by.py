"""Which ingester received each event: `events.received_by` (its MQTT client id), null for events stored before.

With two ingesters on the shared subscription the broker hands each of them a share of every station's messages and
queues the share of one that is down. Evidence delivered late counts as the station's own delay (set aside) only
when the same ingester was hearing the station live at the time; a late share queued for a stopped ingester is the
cloud's delay and counts. The downgrade drops the column.

Revision ID: 0010_event_received_by
Revises: 0009_plan_planner
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_event_received_by"
down_revision: str | Sequence[str] | None = "0009_plan_planner"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("received_by", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("received_by")
