"""A station's kind: `station` (居家养老服务站, graded 2A-5A), `care_centre` (照料中心) or `neighbourhood_point`
(睦邻点).

- stations.kind and station_schedules.kind (versioned with the grade), `station` for every existing row;
- stations.grade and station_schedules.grade may be null, and must be for the kinds with no grade (a check on both);
- month_results.threshold may be null (a kind with no monthly threshold), and vetoes.veto may be null (the veto
  does not apply to that kind).

On SQLite, `stations` is not rebuilt (batch mode copies a table and drops the old one, and dropping it would
cascade to every table that refers to it: events, days, alerts): the column is added in place, and grade's NOT NULL
is lifted and the kind-grade check added by editing the stored table definition, SQLite's documented procedure for
removing a NOT NULL constraint (every existing row is a graded station, so the added check holds for all of them).
The downgrade refuses while a care centre or neighbourhood point is registered (the old schema cannot hold one
without a grade), then restores the old columns.

Revision ID: 0012_station_kind
Revises: 0011_ingest_clients
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_station_kind"
down_revision: str | Sequence[str] | None = "0011_ingest_clients"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "'station', 'care_centre', 'neighbourhood_point'"
KIND_GRADE = "(kind = 'station' AND grade IS NOT NULL) OR (kind <> 'station' AND grade IS NULL)"
GRADE_NOT_NULL = "grade VARCHAR(2) NOT NULL, "
GRADE_NULL = "grade VARCHAR(2), "
KIND_GRADE_CONSTRAINT = f", \n\tCONSTRAINT ck_stations_kind_grade CHECK ({KIND_GRADE})"


def _kind_column() -> sa.Column[str]:
    return sa.Column("kind", sa.String(24), nullable=False, server_default="station")


def _edit_sqlite_table(table: str, edit: dict[str, str], append: str = "", remove: str = "") -> None:
    """Rewrite `table`'s stored definition in place (SQLite: no copy, so no cascade), bumping the schema version so
    every connection re-reads it; the definition must read as this migration expects, or nothing is changed."""
    bind = op.get_bind()
    sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                       {"t": table}).scalar()
    new = str(sql)
    for old, replacement in edit.items():
        if new.count(old) != 1:
            raise RuntimeError(f"{table}: its definition does not read as expected ({old.strip()!r}); not changed")
        new = new.replace(old, replacement)
    if remove:
        if new.count(remove) != 1:
            raise RuntimeError(f"{table}: its definition lacks {remove.strip()!r}; not changed")
        new = new.replace(remove, "")
    if append:
        new = new.rstrip().removesuffix(")").rstrip() + append + "\n)"
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :t"),
                 {"sql": new, "t": table})
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version or 0) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))
    # The table alone (a store's events may be millions of rows): its definition parses and its rows fit it.
    problems = [row[0] for row in bind.execute(sa.text(f"PRAGMA quick_check({table})"))]
    if problems != ["ok"]:
        raise RuntimeError(f"{table}: the database check failed after the change: {problems}")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(f"ALTER TABLE stations ADD COLUMN kind VARCHAR(24) DEFAULT 'station' NOT NULL "
                   f"CONSTRAINT ck_stations_kind CHECK (kind IN ({KINDS}))")
        _edit_sqlite_table("stations", {GRADE_NOT_NULL: GRADE_NULL}, append=KIND_GRADE_CONSTRAINT)
    else:
        op.add_column("stations", _kind_column())
        op.alter_column("stations", "grade", existing_type=sa.String(2), nullable=True)
        op.create_check_constraint(op.f("ck_stations_kind"), "stations", f"kind IN ({KINDS})")
        op.create_check_constraint(op.f("ck_stations_kind_grade"), "stations", KIND_GRADE)
    # Nothing refers to these tables: batch mode may rebuild them on SQLite.
    with op.batch_alter_table("station_schedules") as batch:
        batch.add_column(_kind_column())
        batch.alter_column("grade", existing_type=sa.String(2), nullable=True)
        batch.create_check_constraint(op.f("ck_station_schedules_kind"), f"kind IN ({KINDS})")
        batch.create_check_constraint(op.f("ck_station_schedules_kind_grade"), KIND_GRADE)
    with op.batch_alter_table("month_results") as batch:
        batch.alter_column("threshold", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("vetoes") as batch:
        batch.alter_column("veto", existing_type=sa.Boolean(), nullable=True)


def downgrade() -> None:
    bind = op.get_bind()
    others = bind.execute(sa.text("SELECT count(*) FROM stations WHERE kind <> 'station'")).scalar()
    if others:
        raise RuntimeError(f"{others} care centre(s) or neighbourhood point(s) are registered: the schema before "
                           "0012_station_kind cannot hold a site without a grade; remove them (or register them as "
                           "graded stations) first")
    op.execute("UPDATE vetoes SET veto = false WHERE veto IS NULL")
    with op.batch_alter_table("vetoes") as batch:
        batch.alter_column("veto", existing_type=sa.Boolean(), nullable=False)
    op.execute("DELETE FROM month_results WHERE threshold IS NULL")
    with op.batch_alter_table("month_results") as batch:
        batch.alter_column("threshold", existing_type=sa.Integer(), nullable=False)
    op.execute("DELETE FROM station_schedules WHERE kind <> 'station'")  # versions of a site since made a station
    with op.batch_alter_table("station_schedules") as batch:
        batch.drop_constraint(op.f("ck_station_schedules_kind_grade"), type_="check")
        batch.drop_constraint(op.f("ck_station_schedules_kind"), type_="check")
        batch.alter_column("grade", existing_type=sa.String(2), nullable=False)
        batch.drop_column("kind")
    if bind.dialect.name == "sqlite":
        _edit_sqlite_table("stations", {GRADE_NULL: GRADE_NOT_NULL,
                                        f" CONSTRAINT ck_stations_kind CHECK (kind IN ({KINDS}))": ""},
                           remove=KIND_GRADE_CONSTRAINT)
        op.execute("ALTER TABLE stations DROP COLUMN kind")
    else:
        op.drop_constraint(op.f("ck_stations_kind_grade"), "stations", type_="check")
        op.drop_constraint(op.f("ck_stations_kind"), "stations", type_="check")
        op.alter_column("stations", "grade", existing_type=sa.String(2), nullable=False)
        op.drop_column("stations", "kind")
