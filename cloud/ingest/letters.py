"""Dead letters: what is kept of a message that will never be stored as an event, and why.

A letter keeps the start of its payload (enough to see what a device sent), its full size and a SHA-256 of the whole:
an 8 MB junk message costs 4 KiB, and a payload the device still holds can be matched to its letter.

Faces never leave the station, yet a faulty or vendor device may send one: a JPEG crop of a face is a few KiB, a face
encoding 128 numbers. A refused message is kept for `dead_letters_days`, so what is kept of it holds neither: a
payload that is not UTF-8 text (an image, a crop) keeps only its first LETTER_BINARY_BYTES (a file's signature and
headers, no picture), and in text every run of encoded binary data (base64 or hex, as a health detail refuses it) and
every list of more than LETTER_NUMBER_RUN numbers is replaced by a note of its length. The size and hash stay those of
the whole payload as sent.
"""

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table

from cloud.convert import Accepted, Rejected
from cloud.store.models import DeadLetter
from station_protocol.detail import encoded_spans

DEAD = cast(Table, DeadLetter.__table__)

LETTER_KEEP_BYTES = 4096
LETTER_TOPIC_CHARS = 1024  # a topic may be 64 KiB; no valid one is longer than ~150 characters
LETTER_REASON_CHARS = 4096
# A JPEG's or PNG's signature and first headers, before any of its picture (a JPEG's scan starts ~600 bytes in).
LETTER_BINARY_BYTES = 256
# More numbers than this in a row, comma-separated, are a vector (a face encoding has 128), not a reading's figures.
LETTER_NUMBER_RUN = 16
_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_NUMBERS = re.compile(rf"{_NUMBER}(?:\s*,\s*{_NUMBER}){{{LETTER_NUMBER_RUN},}}")


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


def kept(payload: bytes, size: int | None = None) -> bytes:
    """What a letter keeps of `payload`: its first LETTER_KEEP_BYTES, with no image, crop or encoding in them.
    `size`: the whole payload's size, when `payload` is already a letter's cut (len(payload) otherwise)."""
    head = payload[:LETTER_KEEP_BYTES]
    cut = (len(payload) if size is None else size) > LETTER_KEEP_BYTES
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Text whose last character the 4 KiB cut split is still text; any other bad byte means it is not.
        if not cut or exc.start < len(head) - 3:
            return head[:LETTER_BINARY_BYTES]
        text = head[:exc.start].decode("utf-8")
    text = _NUMBERS.sub(lambda m: f"<removed: {m.group().count(',') + 1} numbers>", text)
    out, last = [], 0
    for start, end in encoded_spans(text):
        out += [text[last:start], f"<removed: {end - start} characters of encoded binary data>"]
        last = end
    return "".join([*out, text[last:]]).encode("utf-8")


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
