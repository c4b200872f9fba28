"""Dead letters keep the first 4 KiB of a payload with the whole payload's size and SHA-256.

Existing letters are cut to 4 KiB here too, their size and hash taken from what they held.

Revision ID: 0005_dead_letter_digest
Revises: 0005_calendar
Create Date: 2026-11-30
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_dead_letter_digest"
down_revision: str | Sequence[str] | None = "0005_calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEEP = 4096


def upgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("payload_size", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("payload_sha256", sa.String(64), nullable=True))
    bind = op.get_bind()
    letters = sa.table("dead_letters", sa.column("id", sa.BigInteger()), sa.column("payload", sa.LargeBinary()),
                       sa.column("payload_size", sa.BigInteger()), sa.column("payload_sha256", sa.String(64)))
    last = 0
    while True:  # in slices: a table of large letters must not be read into memory at once
        rows = bind.execute(sa.select(letters.c.id, letters.c.payload).where(letters.c.id > last)
                            .order_by(letters.c.id).limit(500)).all()
        if not rows:
            break
        bind.execute(letters.update().where(letters.c.id == sa.bindparam("key")).values(
            payload=sa.bindparam("cut"), payload_size=sa.bindparam("size"), payload_sha256=sa.bindparam("digest")),
            [{"key": r.id, "cut": bytes(r.payload[:KEEP]), "size": len(r.payload),
              "digest": hashlib.sha256(r.payload).hexdigest()} for r in rows])
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("payload_sha256")
        batch.drop_column("payload_size")
