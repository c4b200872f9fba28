"""The history of each elder's category (homecare_elder_categories), so a month is owed by the category in force in
it and a reassessment never rewrites the months before it. Every existing elder gets one version, its current
category, from 1970-01-01: before any day the store can hold. It is the only category the registry knows; months
judged before an earlier change (before the history was kept) are recounted by it. The downgrade drops the history
(the elders keep their current category).

Revision ID: 0017_elder_category_history
Revises: 0016_time_checks_asked
Create Date: 2026-12-02
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = "0017_elder_category_history"
down_revision: str | Sequence[str] | None = "0016_time_checks_asked"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = "'high_age', 'self_care', 'semi_disabled', 'disabled'"
BACKFILL_FROM = date(1970, 1, 1)  # cloud.homecare.store.categories.BACKFILL_FROM, frozen here as migrations are


def upgrade() -> None:
    op.create_table(
        "homecare_elder_categories",
        sa.Column("elder_id", sa.String(63), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["elder_id"], ["homecare_elders.id"],
                                name="fk_homecare_elder_categories_elder_id_homecare_elders", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("elder_id", "effective_from", name="pk_homecare_elder_categories"),
        sa.CheckConstraint(f"category IN ({CATEGORIES})", name="ck_homecare_elder_categories_category"),
    )
    # The elder's current category is the only one known: it applies from before any stored day.
    op.execute(sa.text(
        "INSERT INTO homecare_elder_categories (elder_id, effective_from, category, recorded_at) "
        "SELECT id, :start, category, updated_at FROM homecare_elders"
    ).bindparams(sa.bindparam("start", type_=sa.Date()), start=BACKFILL_FROM))


def downgrade() -> None:
    op.drop_table("homecare_elder_categories")
