"""The time checks the cloud sent: `time_checks_asked` (check id, station, when the cloud asked, UTC), written by the
sender once the broker confirmed each, read by the derivations to find a station that answers none. A new table,
indexed by station and time: no existing one is touched. The downgrade drops it.

Revision ID: 0016_time_checks_asked
Revises: 0015_ingest_client_alive
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_time_checks_asked"
down_revision: str | Sequence[str] | None = "0015_ingest_client_alive"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "time_checks_asked",
        sa.Column("check_id", sa.Text(), nullable=False),
        sa.Column("station_id", sa.Text(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("check_id", name=op.f("pk_time_checks_asked")),
    )
    op.create_index("ix_time_checks_asked_station_asked_at", "time_checks_asked", ["station_id", "asked_at"])


def downgrade() -> None:
    op.drop_index("ix_time_checks_asked_station_asked_at", table_name="time_checks_asked")
    op.drop_table("time_checks_asked")
