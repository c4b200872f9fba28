"""The local calendar: holiday file versions, the closures the worker applied, and bureau alerts of no station.

- `holiday_files`: every accepted version of the bureau's holiday file; the newest is in force.
- `applied_exceptions`: the approved closures as the worker last recomputed them (a change is recomputed).
- `alerts`: `station_id` may be null (a deployment-wide bureau alert, e.g. the calendar does not know next year),
  with the kind `calendar_unknown_year` and the level `bureau`. SQLite rebuilds the table.

Revision ID: 0005_calendar
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_calendar"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_KINDS = ("'emergency_call', 'spot_check_closed', 'spot_check_unverifiable', 'station_offline', "
             "'sensor_anomaly'")
NEW_KINDS = f"{OLD_KINDS}, 'calendar_unknown_year'"


def upgrade() -> None:
    op.create_table(
        "holiday_files",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("uploaded_by", sa.String(200), nullable=True),
        sa.Column("uploaded_at", UTC_TS, nullable=False),
        sa.Column("applied_at", UTC_TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_holiday_files"),
    )
    op.create_table(
        "applied_exceptions",
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], name="fk_applied_exceptions_station_id_stations",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("station_id", "date", name="pk_applied_exceptions"),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("station_id", existing_type=sa.String(63), nullable=True)
        batch.drop_constraint("ck_alerts_kind", type_="check")
        batch.drop_constraint("ck_alerts_level", type_="check")
        batch.create_check_constraint("ck_alerts_kind", sa.text(f"kind IN ({NEW_KINDS})"))
        batch.create_check_constraint("ck_alerts_level", sa.text("level IN ('station', 'town', 'dispatch', 'bureau')"))


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE station_id IS NULL OR kind = 'calendar_unknown_year' OR level = 'bureau'")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("ck_alerts_kind", type_="check")
        batch.drop_constraint("ck_alerts_level", type_="check")
        batch.create_check_constraint("ck_alerts_kind", sa.text(f"kind IN ({OLD_KINDS})"))
        batch.create_check_constraint("ck_alerts_level", sa.text("level IN ('station', 'town', 'dispatch')"))
        batch.alter_column("station_id", existing_type=sa.String(63), nullable=False)
    op.drop_table("applied_exceptions")
    op.drop_table("holiday_files")
