"""Dead letters keep no face: letters stored before this revision are cut as new ones are
(`cloud.store.letter_payload.kept`).

A refused payload that was not UTF-8 text (a JPEG crop of a face) keeps its first 256 bytes, and in text every run of
base64 or hex and every list of more than 16 numbers (a face encoding) is replaced by a note of its length. The size
and hash of the whole payload stay as they were. Nothing to undo: what was cut away is gone (that is the point).

Revision ID: 0018_dead_letter_faces
Revises: 0017_elder_category_history
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cloud.store.letter_payload import kept

revision: str = "0018_dead_letter_faces"
down_revision: str | Sequence[str] | None = "0017_elder_category_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    letters = sa.table("dead_letters", sa.column("id", sa.BigInteger()), sa.column("payload", sa.LargeBinary()),
                       sa.column("payload_size", sa.BigInteger()))
    last = 0
    while True:  # in slices: at most 4 KiB a letter, but there may be many
        rows = bind.execute(sa.select(letters.c.id, letters.c.payload, letters.c.payload_size)
                            .where(letters.c.id > last).order_by(letters.c.id).limit(500)).all()
        if not rows:
            break
        changed = [{"key": r.id, "cut": cut} for r in rows
                   if (cut := kept(bytes(r.payload), r.payload_size)) != bytes(r.payload)]
        if changed:
            bind.execute(letters.update().where(letters.c.id == sa.bindparam("key")).values(
                payload=sa.bindparam("cut")), changed)
        last = rows[-1].id


def downgrade() -> None:
    pass  # the cut bytes are gone; the column is unchanged
