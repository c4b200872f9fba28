"""`ingest_clients` keeps when each ingester was last seen working (`last_alive_at`, written about once a minute while
it is connected) and the session expiry it asked for (`session_expiry_s`), so that a session found lost bounds its
window of lost messages: from the last moment the ingester was working (not its last connection, which may be weeks
before a crash) to at most the expiry after it (the broker dealt the session nothing more once it expired).

Two nullable columns added in place (`ALTER TABLE … ADD COLUMN` on both databases: nothing is copied or dropped).

Revision ID: 0015_ingest_client_alive
Revises: 0014_ingest_losses
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_ingest_client_alive"
down_revision: str | Sequence[str] | None = "0014_ingest_losses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ingest_clients", sa.Column("last_alive_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("ingest_clients", sa.Column("session_expiry_s", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ingest_clients") as batch:  # no table refers to it: a copy cascades nowhere
        batch.drop_column("session_expiry_s")
        batch.drop_column("last_alive_at")
