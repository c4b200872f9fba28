"""Defensible verdicts: the `equipment_off` alert kind, and months whose threshold cannot be confirmed.

- alerts.kind admits `equipment_off` (unknown time in working hours after the station was seen that day);
- month_results.met and at_risk may be null: a station with no face data cannot have its threshold confirmed.

Revision ID: 0005_rules
Revises: 0004, 0002 (it alters month_results, made in 0002)
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_rules"
down_revision: str | Sequence[str] | None = ("0004", "0002")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "'emergency_call', 'spot_check_closed', 'spot_check_unverifiable', 'station_offline', 'sensor_anomaly'"
NEW_KINDS = f"{OLD_KINDS}, 'equipment_off'"


def _kinds(kinds: str) -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint("ck_alerts_kind", type_="check")
        batch.create_check_constraint("kind", f"kind IN ({kinds})")


def upgrade() -> None:
    _kinds(NEW_KINDS)
    with op.batch_alter_table("month_results") as batch:
        batch.alter_column("met", existing_type=sa.Boolean(), nullable=True)
        batch.alter_column("at_risk", existing_type=sa.Boolean(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE kind = 'equipment_off'")
    _kinds(OLD_KINDS)
    op.execute("UPDATE month_results SET met = false WHERE met IS NULL")
    op.execute("UPDATE month_results SET at_risk = false WHERE at_risk IS NULL")
    with op.batch_alter_table("month_results") as batch:
        batch.alter_column("met", existing_type=sa.Boolean(), nullable=False)
        batch.alter_column("at_risk", existing_type=sa.Boolean(), nullable=False)
