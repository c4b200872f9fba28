"""Whose spot check a plan is: `spot_check_plans.planner_role`, `bureau` or `town`. The veto counts the bureau's
checks (a town's checks of its own stations are its supervision) unless the rules count the towns' too. Existing
plans made by a user whose role is `town` become the town's; every other existing plan stays the bureau's. Vetoes
already stored are not recounted here: run `eldercare cloud rederive` over the years with plans. The downgrade drops
the column.

Revision ID: 0009_plan_planner
Revises: 0008_elder_period
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_plan_planner"
down_revision: str | Sequence[str] | None = "0008_elder_period"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("spot_check_plans") as batch:
        batch.add_column(sa.Column("planner_role", sa.String(16), nullable=False, server_default="bureau"))
    op.execute("UPDATE spot_check_plans SET planner_role = 'town' "
               "WHERE created_by IN (SELECT name FROM users WHERE role = 'town')")


def downgrade() -> None:
    with op.batch_alter_table("spot_check_plans") as batch:
        batch.drop_column("planner_role")
