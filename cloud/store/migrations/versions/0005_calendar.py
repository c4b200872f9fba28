"""The local calendar: holiday file versions, the closures the worker applied, and bureau alerts of no station.

- `holiday_files`: every accepted version of the bureau's holiday file; the newest is in force.
- `applied_exceptions`: the approved closures as the worker last recomputed them (a change is recomputed).
- `alerts`: `station_id` may be null (a deployment-wide bureau alert, e.g. the calendar does not know next year),
  with the kind `calendar_unknown_year` and the level `bureau` added to the values the table admits now (kept, so
  other revisions' kinds survive whatever the order). SQLite rebuilds the table.

Revision ID: 0005_calendar
Revises: 0005_rules
Create Date: 2026-11-30
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_calendar"
down_revision: str | Sequence[str] | None = "0005_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NEW_KIND, NEW_LEVEL = "calendar_unknown_year", "bureau"


def _allowed(column: str) -> tuple[str, list[str]]:
    """The check constraint on alerts.`column` as the database has it — its name (revisions name it differently
    through the naming convention) and the values it admits now: other revisions add kinds too, and whichever runs
    last must keep theirs. PostgreSQL renders `((kind)::text = ANY (ARRAY['a'::character varying, ...]))`, SQLite
    keeps `kind IN ('a', ...)`; both quote each value."""
    for check in sa.inspect(op.get_bind()).get_check_constraints("alerts"):
        sql = str(check["sqltext"])
        if re.search(rf"\b{column}\b", sql):
            return str(check["name"]), list(dict.fromkeys(re.findall(r"'([a-z_]+)'", sql)))
    raise RuntimeError(f"alerts has no check constraint on {column}")


def _in(column: str, values: list[str]) -> sa.TextClause:
    return sa.text(f"{column} IN ({', '.join(repr(v) for v in values)})")


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
    (kind_check, kinds), (level_check, levels) = _allowed("kind"), _allowed("level")
    # op.f(): the names exactly as found (the naming convention would prefix them again); kept, so a later
    # revision that drops them by name still finds them.
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("station_id", existing_type=sa.String(63), nullable=True)
        batch.drop_constraint(op.f(kind_check), type_="check")
        batch.drop_constraint(op.f(level_check), type_="check")
        batch.create_check_constraint(op.f(kind_check), _in("kind", [*kinds, NEW_KIND]))
        batch.create_check_constraint(op.f(level_check), _in("level", [*levels, NEW_LEVEL]))


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE station_id IS NULL OR kind = 'calendar_unknown_year' OR level = 'bureau'")
    kind_check, kinds = _allowed("kind")
    level_check, levels = _allowed("level")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint(op.f(kind_check), type_="check")
        batch.drop_constraint(op.f(level_check), type_="check")
        batch.create_check_constraint(op.f(kind_check), _in("kind", [k for k in kinds if k != NEW_KIND]))
        batch.create_check_constraint(op.f(level_check), _in("level", [v for v in levels if v != NEW_LEVEL]))
        batch.alter_column("station_id", existing_type=sa.String(63), nullable=False)
    op.drop_table("applied_exceptions")
    op.drop_table("holiday_files")
