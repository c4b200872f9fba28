"""The history of each station's working hours and grade (station_schedules), so a day re-derived later is judged by
the version in force on it. Every existing station gets one version, its current values, from 1970-01-01: before any
day the store can hold. They are the only hours the registry knows; a day derived before an earlier edit keeps its
stored verdict until it is re-derived, which then reads these values. The downgrade drops the history (the stations
keep their current values).

Revision ID: 0007_schedule_history
Revises: 0006_homecare
Create Date: 2026-12-01
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0007_schedule_history"
down_revision: str | Sequence[str] | None = "0006_homecare"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRADES = "'2A', '3A', '4A', '5A'"
BACKFILL_FROM = date(1970, 1, 1)  # cloud.store.schedules.BACKFILL_FROM, frozen here as migrations are


def upgrade() -> None:
    op.create_table(
        "station_schedules",
        sa.Column("station_id", sa.String(63), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("weekdays", sa.String(32), nullable=False),
        sa.Column("hours", sa.String(200), nullable=False),
        sa.Column("open_on_holidays", sa.Boolean(), nullable=False),
        sa.Column("grade", sa.String(2), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"], name="fk_station_schedules_station_id_stations",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("station_id", "effective_from", name="pk_station_schedules"),
        sa.CheckConstraint(f"grade IN ({GRADES})", name="ck_station_schedules_grade"),
    )
    # The station's current values are the only hours known: they apply from before any stored day.
    op.execute(sa.text(
        "INSERT INTO station_schedules (station_id, effective_from, weekdays, hours, open_on_holidays, grade, "
        "recorded_at) SELECT id, :start, weekdays, hours, open_on_holidays, grade, updated_at FROM stations"
    ).bindparams(sa.bindparam("start", type_=sa.Date()), start=BACKFILL_FROM))


def downgrade() -> None:
    op.drop_table("station_schedules")
