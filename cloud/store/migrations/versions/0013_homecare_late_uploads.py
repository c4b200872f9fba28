"""alerts.kind admits `homecare_late_uploads` (a caregiver's or provider's visits habitually reaching the server long
after they were made).

Only the kind check constraint changes, widened on upgrade with every kind it admits kept (other revisions add kinds
too), narrowed on downgrade after deleting the alerts of the new kind. On PostgreSQL the constraint is dropped and
created again. On SQLite the table is not rebuilt: batch mode copies a table and drops the old one, and dropping it
would cascade to any table that refers to it and cost a copy of every alert; the stored table definition is edited in
place instead (the check only admits more values, so every existing row still holds), bumping the schema version so
every connection re-reads it, then the table is checked.

Revision ID: 0013_homecare_late_uploads
Revises: 0012_station_kind
Create Date: 2026-12-01
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_homecare_late_uploads"
down_revision: str | Sequence[str] | None = "0012_station_kind"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_KIND = "homecare_late_uploads"


def _kind_check() -> tuple[str, str, list[str]]:
    """The alerts.kind check constraint as the database has it: its name, its text and the values it admits now.
    PostgreSQL renders `((kind)::text = ANY (ARRAY['a'::character varying, ...]))`, SQLite keeps `kind IN ('a', ...)`;
    both quote each value."""
    for check in sa.inspect(op.get_bind()).get_check_constraints("alerts"):
        sql = str(check["sqltext"])
        if re.search(r"\bkind\b", sql):
            return str(check["name"]), sql, list(dict.fromkeys(re.findall(r"'([a-z_]+)'", sql)))
    raise RuntimeError("alerts has no check constraint on kind")


def _in(values: list[str]) -> str:
    return f"kind IN ({', '.join(repr(v) for v in values)})"


def _edit_sqlite_check(old: str, new: str) -> None:
    """Replace the check's text in alerts' stored definition, in place (no copy, so no cascade); the definition must
    hold the old text exactly once, or nothing is changed."""
    bind = op.get_bind()
    sql = str(bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'alerts'")).scalar())
    if sql.count(old) != 1:
        raise RuntimeError(f"alerts: its definition does not hold the kind check as expected ({old!r}); not changed")
    version = bind.execute(sa.text("PRAGMA schema_version")).scalar()
    bind.execute(sa.text("PRAGMA writable_schema = ON"))
    bind.execute(sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = 'alerts'"),
                 {"sql": sql.replace(old, new)})
    bind.execute(sa.text(f"PRAGMA schema_version = {int(version or 0) + 1}"))
    bind.execute(sa.text("PRAGMA writable_schema = OFF"))
    problems = [row[0] for row in bind.execute(sa.text("PRAGMA quick_check(alerts)"))]
    if problems != ["ok"]:
        raise RuntimeError(f"alerts: the database check failed after the change: {problems}")


def _set_kinds(kinds: list[str]) -> None:
    name, sql, _ = _kind_check()
    if op.get_bind().dialect.name == "sqlite":
        _edit_sqlite_check(sql, _in(kinds))
    else:
        # op.f(): the name exactly as found (the naming convention would prefix it again).
        op.drop_constraint(op.f(name), "alerts", type_="check")
        op.create_check_constraint(op.f(name), "alerts", _in(kinds))


def upgrade() -> None:
    _, _, kinds = _kind_check()
    if NEW_KIND not in kinds:
        _set_kinds([*kinds, NEW_KIND])


def downgrade() -> None:
    op.execute(f"DELETE FROM alerts WHERE kind = '{NEW_KIND}'")
    _, _, kinds = _kind_check()
    if NEW_KIND in kinds:
        _set_kinds([k for k in kinds if k != NEW_KIND])
