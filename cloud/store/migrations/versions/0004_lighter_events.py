"""Lighter event rows: no second unique key, no foreign key to stations, payload stored as published.

Each of the three was paid on every inserted event (measured on PostgreSQL 15: 18 -> 12 µs of server time per row):
- the unique key on `id` alone was a second B-tree to maintain. Ingest's insert now refuses an id already stored at
  another ts with a probe of the primary key (id, ts), whose index id leads (cloud/ingest/events.py); a replay
  conflicts on the primary key itself. The probe also holds on a table partitioned by ts, where the unique key could
  not exist.
- the foreign key ran a lookup in `stations` per row. Ingest stores events only of registered stations (others are
  dead letters), and events are the evidence behind grades and subsidies: removing a station must not cascade them
  away.
- JSONB re-encoded every payload; nothing queries inside it, and JSON keeps the message as published.

On a large table this rewrites `events` (PostgreSQL: the type change; SQLite: the table is rebuilt).

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint("uq_events_id", type_="unique")
        batch.drop_constraint("fk_events_station_id_stations", type_="foreignkey")
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("events", "payload", type_=sa.JSON(), existing_type=postgresql.JSONB(),
                        existing_nullable=False, postgresql_using="payload::json")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("events", "payload", type_=postgresql.JSONB(), existing_type=sa.JSON(),
                        existing_nullable=False, postgresql_using="payload::jsonb")
    with op.batch_alter_table("events") as batch:
        batch.create_foreign_key("fk_events_station_id_stations", "stations", ["station_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_unique_constraint("uq_events_id", ["id"])
