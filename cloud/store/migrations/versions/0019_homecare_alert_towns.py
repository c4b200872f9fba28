"""Home-care alerts stored before this revision went to the provider's town, whoever's elders their evidence named:
each is moved to where the worker now raises it (cloud.homecare.routing), open or resolved, since a town lists its
resolved alerts too.

- a fraud alert whose evidence names elders of one town only goes to that town (most stay where they are);
- one naming elders of several towns, or of no known town, or listing only some of its visits, goes to the bureau
  (the worker clears it there, saying so, when it raises the signal's parts to each town instead);
- a provider's satisfaction or valid-complaint alert (its figures over all its towns) goes to the bureau.

Each moved alert's notes say from where and why. Nothing to undo: going back would put other towns' elders before a
town again.

Revision ID: 0019_homecare_alert_towns
Revises: 0018_dead_letter_faces
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0019_homecare_alert_towns"
down_revision: str | Sequence[str] | None = "0018_dead_letter_faces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FRAUD = ("homecare_double_booked", "homecare_just_long_enough", "homecare_far_away", "homecare_qr_rate",
         "homecare_no_sign_out", "homecare_late_uploads")
PROVIDER_WIDE = ("homecare_satisfaction", "homecare_complaints")

ALERTS = sa.table("alerts", sa.column("id", sa.BigInteger()), sa.column("kind", sa.String()),
                  sa.column("level", sa.String()), sa.column("town", sa.String()), sa.column("notes", sa.Text()),
                  sa.column("evidence", sa.JSON()))
ELDERS = sa.table("homecare_elders", sa.column("id", sa.String()), sa.column("town", sa.String()))
VISITS = sa.table("homecare_visits", sa.column("key", sa.String()), sa.column("elder_id", sa.String()))


def named(evidence: dict[str, Any]) -> tuple[set[str], set[str], bool]:
    """(elder ids, visit keys) an alert's evidence names, and whether it lists all its visits."""
    elders, visits = set(), set()
    if isinstance(evidence.get("elder"), str):
        elders.add(evidence["elder"])
    for item in evidence.get("visits") or []:
        if isinstance(item, dict) and isinstance(item.get("elder"), str):
            elders.add(item["elder"])
        elif isinstance(item, str):
            visits.add(item)
    return elders, visits, not evidence.get("visits_not_listed")


def destination(bind: sa.Connection, kind: str, evidence: dict[str, Any] | None) -> tuple[str | None, str]:
    """Where a stored alert belongs (a town, None: the bureau) and why."""
    if kind in PROVIDER_WIDE:
        return None, "a provider's figures over all its towns are the bureau's"
    elders, visits, whole = named(evidence or {})
    if visits:
        elders |= set(bind.scalars(sa.select(VISITS.c.elder_id).where(VISITS.c.key.in_(sorted(visits)))))
    towns = set(bind.scalars(sa.select(ELDERS.c.town).where(ELDERS.c.id.in_(sorted(elders))))) if elders else set()
    if len(towns) == 1 and whole:
        (town,) = towns
        return town, "its evidence is of that town's elders"
    return None, "its evidence is of several towns' elders (or of elders of no known town)"


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(ALERTS.c.id, ALERTS.c.kind, ALERTS.c.town, ALERTS.c.notes, ALERTS.c.evidence)
                        .where(ALERTS.c.kind.in_(FRAUD + PROVIDER_WIDE), ALERTS.c.town.is_not(None))
                        .order_by(ALERTS.c.id)).all()
    for row in rows:
        town, why = destination(bind, row.kind, row.evidence)
        if town == row.town:
            continue
        where = f"town {town}" if town is not None else "the bureau"
        line = f"moved from town {row.town} to {where} by revision 0019_homecare_alert_towns: {why}"
        bind.execute(ALERTS.update().where(ALERTS.c.id == row.id).values(
            town=town, level="town" if town is not None else "bureau",
            notes=f"{row.notes}\n{line}" if row.notes else line))


def downgrade() -> None:
    pass  # the old routing put other towns' elders before a town: nothing to restore
