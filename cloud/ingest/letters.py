"""Dead letters: what is kept of a message that will never be stored as an event, and why.

A letter keeps the start of its payload (enough to see what a device sent), its full size and a SHA-256 of the whole:
an 8 MB junk message costs 4 KiB, and a payload the device still holds can be matched to its letter.

Faces never leave the station, yet a faulty or vendor device may send one (a JPEG crop, a face encoding) in a
message the cloud refuses: what a letter keeps of it holds neither (`cloud.store.letter_payload.kept`). The size
and hash stay those of the whole payload as sent.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table

from cloud.convert import Accepted, Rejected
from cloud.store.letter_payload import kept
from cloud.store.models import DeadLetter

DEAD = cast(Table, DeadLetter.__table__)

LETTER_TOPIC_CHARS = 1024  # a topic may be 64 KiB; no valid one is longer than ~150 characters
LETTER_REASON_CHARS = 4096


@dataclass(frozen=True, slots=True)
class Letter:
    """A dead letter to write: raw bytes, topic and why."""

    topic: str
    payload: bytes
    received_at: datetime
    rejected: Rejected


def _text(value: str, limit: int) -> str:
    if len(value) > limit:
        value = value[:limit] + f"… ({len(value)} characters)"
    # A reason can quote a JSON key written as half a surrogate pair ("\ud800"), which no store can encode: an
    # unstorable letter would roll back the whole batch, good events with it. Escape what UTF-8 cannot hold.
    value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value.replace("\x00", "\\x00")


def letter_row(letter: Letter) -> dict[str, Any]:
    """The `dead_letters` row for a letter: what is `kept` of the payload, with its size and hash."""
    payload = letter.payload
    return {
        # Text columns cannot hold NUL on PostgreSQL; the payload's bytes keep the truth.
        "topic": _text(letter.topic, LETTER_TOPIC_CHARS), "reason": _text(letter.rejected.reason, LETTER_REASON_CHARS),
        "payload": kept(payload), "payload_size": len(payload),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "received_at": letter.received_at, "station_id": letter.rejected.station_id,
    }


def insert_letters(connection: Connection, letters: Sequence[Letter]) -> None:
    if letters:
        connection.execute(DEAD.insert(), [letter_row(lt) for lt in letters])


def refused(item: Accepted, error: Exception, topic: str, payload: bytes) -> Letter:
    """The letter for a valid message whose event the store refused (a constraint, a value it cannot hold)."""
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    reason = f"store refused the event: {detail}"
    return Letter(topic, payload, item.row["received_at"], Rejected("store_refused", reason, item.station.id))
