"""The ingesters that have connected to the broker: `ingest_clients` (client id, first and last connection, last
graceful stop), so that an ingester the broker answers without a session can tell its first start from a session the
broker dropped with the messages it held. The downgrade drops the table.

Revision ID: 0011_ingest_clients
Revises: 0010_event_received_by
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

UTC_TS = sa.DateTime(timezone=True)

revision: str = "0011_ingest_clients"
down_revision: str | Sequence[str] | None = "0010_event_received_by"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_clients",
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("first_connected_at", UTC_TS, nullable=False),
        sa.Column("last_connected_at", UTC_TS, nullable=False),
        sa.Column("last_stopped_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_ingest_clients")),
    )


def downgrade() -> None:
    op.drop_table("ingest_clients")
