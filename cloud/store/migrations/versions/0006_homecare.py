"""Home care (居家上门服务): registry, visits, QR tokens, follow-ups, complaints, made-up months, town surveys; the
users' provider and caregiver scopes; home-care alert kinds and the town an alert of no station goes to.

- `homecare_visits.key` is unique: a sign-in replayed from a phone's offline queue is stored once.
- `users.provider_id` (role provider) and `users.caregiver_id` (role caregiver): no foreign key, like
  `users.station_id` (a user may be created before the registry is imported).
- `alerts.town`: a home-care alert has no station; it is the provider's town's (and the bureau's) to see.
- `alerts.kind` admits the home-care kinds (kept with whatever kinds other revisions added). SQLite rebuilds it.

Revision ID: 0006_homecare
Revises: 0005_closures, 0005_api_security (it alters users, made in 0003 and 0005_api_security)
Create Date: 2026-11-30
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006_homecare"
down_revision: str | Sequence[str] | None = ("0005_closures", "0005_api_security")  # it alters users too
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TS = sa.DateTime(timezone=True)
NEW_KINDS = ["homecare_double_booked", "homecare_just_long_enough", "homecare_far_away", "homecare_qr_rate",
             "homecare_no_sign_out", "homecare_satisfaction", "homecare_complaints", "homecare_town_survey"]
CATEGORIES = "'high_age', 'self_care', 'semi_disabled', 'disabled'"
SATISFACTION = "'satisfied', 'basic', 'unsatisfied'"


def _kind_check() -> tuple[str, list[str]]:
    """The alerts.kind check constraint as the database has it: its name and the values it admits now (other
    revisions add kinds too; whichever runs last keeps theirs)."""
    for check in sa.inspect(op.get_bind()).get_check_constraints("alerts"):
        sql = str(check["sqltext"])
        if re.search(r"\bkind\b", sql):
            return str(check["name"]), list(dict.fromkeys(re.findall(r"'([a-z_]+)'", sql)))
    raise RuntimeError("alerts has no check constraint on kind")


def _in(values: list[str]) -> sa.TextClause:
    return sa.text(f"kind IN ({', '.join(repr(v) for v in values)})")


def _stamps() -> list[sa.Column[Any]]:
    return [sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column("created_at", UTC_TS, nullable=False),
            sa.Column("updated_at", UTC_TS, nullable=False)]


def upgrade() -> None:
    op.create_table(
        "homecare_providers",
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("town", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_homecare_providers"),
    )
    op.create_index("ix_homecare_providers_town", "homecare_providers", ["town"])
    op.create_table(
        "homecare_caregivers",
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("provider_id", sa.String(63), nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(["provider_id"], ["homecare_providers.id"],
                                name="fk_homecare_caregivers_provider_id_homecare_providers", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_homecare_caregivers"),
    )
    op.create_index("ix_homecare_caregivers_provider_id", "homecare_caregivers", ["provider_id"])
    op.create_table(
        "homecare_elders",
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("town", sa.String(200), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("provider_id", sa.String(63), nullable=False),
        sa.Column("package", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        *_stamps(),
        sa.CheckConstraint(f"category IN ({CATEGORIES})", name="ck_homecare_elders_category"),
        sa.ForeignKeyConstraint(["provider_id"], ["homecare_providers.id"],
                                name="fk_homecare_elders_provider_id_homecare_providers", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_homecare_elders"),
    )
    op.create_index("ix_homecare_elders_town", "homecare_elders", ["town"])
    op.create_index("ix_homecare_elders_provider_id", "homecare_elders", ["provider_id"])
    op.create_table(
        "homecare_visits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("elder_id", sa.String(63), nullable=False),
        sa.Column("caregiver_id", sa.String(63), nullable=False),
        sa.Column("provider_id", sa.String(63), nullable=False),
        sa.Column("token_id", sa.String(64), nullable=True),
        sa.Column("sign_in_at", UTC_TS, nullable=False),
        sa.Column("sign_in_recorded_at", UTC_TS, nullable=False),
        sa.Column("sign_in_lat", sa.Float(), nullable=True),
        sa.Column("sign_in_lon", sa.Float(), nullable=True),
        sa.Column("sign_in_accuracy_m", sa.Float(), nullable=True),
        sa.Column("sign_out_at", UTC_TS, nullable=True),
        sa.Column("sign_out_recorded_at", UTC_TS, nullable=True),
        sa.Column("sign_out_lat", sa.Float(), nullable=True),
        sa.Column("sign_out_lon", sa.Float(), nullable=True),
        sa.Column("sign_out_accuracy_m", sa.Float(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("voided_by", sa.String(64), nullable=True),
        sa.Column("voided_at", UTC_TS, nullable=True),
        sa.Column("signed_by", sa.String(64), nullable=False),
        sa.CheckConstraint("sign_out_at IS NULL OR sign_out_at >= sign_in_at", name="ck_homecare_visits_order"),
        sa.ForeignKeyConstraint(["elder_id"], ["homecare_elders.id"],
                                name="fk_homecare_visits_elder_id_homecare_elders", ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["caregiver_id"], ["homecare_caregivers.id"],
                                name="fk_homecare_visits_caregiver_id_homecare_caregivers", ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["provider_id"], ["homecare_providers.id"],
                                name="fk_homecare_visits_provider_id_homecare_providers", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_homecare_visits"),
        sa.UniqueConstraint("key", name="uq_homecare_visits_key"),
    )
    for column in ("elder_id", "caregiver_id", "provider_id"):
        op.create_index(f"ix_homecare_visits_{column}_sign_in_at", "homecare_visits", [column, "sign_in_at"])
    op.create_table(
        "homecare_qr_tokens",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("elder_id", sa.String(63), nullable=False),
        sa.Column("issued_at", UTC_TS, nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("revoked_at", UTC_TS, nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["elder_id"], ["homecare_elders.id"],
                                name="fk_homecare_qr_tokens_elder_id_homecare_elders", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_homecare_qr_tokens"),
    )
    op.create_index("ix_homecare_qr_tokens_elder_id", "homecare_qr_tokens", ["elder_id"])
    op.create_table(
        "homecare_followup_samples",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("seed", sa.String(64), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("visit_keys", sa.JSON(), nullable=False),
        sa.Column("drawn_at", UTC_TS, nullable=False),
        sa.Column("drawn_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_homecare_followup_samples"),
    )
    op.create_table(
        "homecare_followups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(63), nullable=False),
        sa.Column("by_role", sa.String(16), nullable=False),
        sa.Column("called_by", sa.String(64), nullable=False),
        sa.Column("called_at", UTC_TS, nullable=False),
        sa.Column("reached", sa.Boolean(), nullable=False),
        sa.Column("satisfaction", sa.String(16), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recorded_at", UTC_TS, nullable=False),
        sa.CheckConstraint(f"satisfaction IS NULL OR satisfaction IN ({SATISFACTION})",
                           name="ck_homecare_followups_satisfaction"),
        sa.CheckConstraint("by_role IN ('platform', 'provider')", name="ck_homecare_followups_by_role"),
        sa.ForeignKeyConstraint(["visit_id"], ["homecare_visits.id"],
                                name="fk_homecare_followups_visit_id_homecare_visits", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["provider_id"], ["homecare_providers.id"],
                                name="fk_homecare_followups_provider_id_homecare_providers", ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name="pk_homecare_followups"),
    )
    op.create_index("ix_homecare_followups_visit_id", "homecare_followups", ["visit_id"])
    op.create_index("ix_homecare_followups_provider_id_called_at", "homecare_followups", ["provider_id", "called_at"])
    op.create_table(
        "homecare_complaints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider_id", sa.String(63), nullable=False),
        sa.Column("elder_id", sa.String(63), nullable=True),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("received_at", UTC_TS, nullable=False),
        sa.Column("received_by", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", UTC_TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["provider_id"], ["homecare_providers.id"],
                                name="fk_homecare_complaints_provider_id_homecare_providers", ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["elder_id"], ["homecare_elders.id"],
                                name="fk_homecare_complaints_elder_id_homecare_elders", ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["visit_id"], ["homecare_visits.id"],
                                name="fk_homecare_complaints_visit_id_homecare_visits", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_homecare_complaints"),
    )
    op.create_index("ix_homecare_complaints_provider_id_received_at", "homecare_complaints",
                    ["provider_id", "received_at"])
    op.create_table(
        "homecare_made_up_months",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("elder_id", sa.String(63), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(["elder_id"], ["homecare_elders.id"],
                                name="fk_homecare_made_up_months_elder_id_homecare_elders", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_homecare_made_up_months"),
        sa.UniqueConstraint("elder_id", "month", name="uq_homecare_made_up_months_elder_id_month"),
    )
    op.create_table(
        "homecare_town_surveys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("town", sa.String(200), nullable=False),
        sa.Column("provider_id", sa.String(63), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("respondents", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", UTC_TS, nullable=False),
        sa.CheckConstraint("quarter BETWEEN 1 AND 4", name="ck_homecare_town_surveys_quarter"),
        sa.CheckConstraint("satisfied >= 0 AND satisfied <= respondents", name="ck_homecare_town_surveys_counts"),
        sa.ForeignKeyConstraint(["provider_id"], ["homecare_providers.id"],
                                name="fk_homecare_town_surveys_provider_id_homecare_providers", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_homecare_town_surveys"),
        sa.UniqueConstraint("town", "provider_id", "year", "quarter",
                            name="uq_homecare_town_surveys_town_provider_id_year_quarter"),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("provider_id", sa.String(63), nullable=True))
        batch.add_column(sa.Column("caregiver_id", sa.String(63), nullable=True))
    kind_check, kinds = _kind_check()
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("town", sa.String(200), nullable=True))
        batch.create_index("ix_alerts_town", ["town"])
        batch.drop_constraint(op.f(kind_check), type_="check")
        batch.create_check_constraint(op.f(kind_check), _in([*kinds, *(k for k in NEW_KINDS if k not in kinds)]))


def downgrade() -> None:
    op.execute(f"DELETE FROM alerts WHERE kind IN ({', '.join(repr(k) for k in NEW_KINDS)})")
    kind_check, kinds = _kind_check()
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint(op.f(kind_check), type_="check")
        batch.create_check_constraint(op.f(kind_check), _in([k for k in kinds if k not in NEW_KINDS]))
        batch.drop_index("ix_alerts_town")
        batch.drop_column("town")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("caregiver_id")
        batch.drop_column("provider_id")
    for table in ("homecare_town_surveys", "homecare_made_up_months", "homecare_complaints", "homecare_followups",
                  "homecare_followup_samples", "homecare_qr_tokens", "homecare_visits", "homecare_elders",
                  "homecare_caregivers", "homecare_providers"):
        op.drop_table(table)
