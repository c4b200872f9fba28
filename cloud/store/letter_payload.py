"""What a dead letter keeps of a refused payload (`cloud.ingest.letters` writes it; revision 0018_dead_letter_faces
cut older letters with it). Pure.

The start of the payload, enough to see what a device sent, but never a face: a payload that is not UTF-8 text (an
image, a crop) keeps only its first LETTER_BINARY_BYTES (a file's signature and headers, no picture), and in text
every run of encoded binary data (base64 or hex, as a health detail refuses it) and every list of more than
LETTER_NUMBER_RUN numbers (a face encoding has 128) is replaced by a note of its length.
"""

import re

from station_protocol.detail import encoded_spans

LETTER_KEEP_BYTES = 4096
# A JPEG's or PNG's signature and first headers, before any of its picture (a JPEG's scan starts ~600 bytes in).
LETTER_BINARY_BYTES = 256
# More numbers than this in a row, comma-separated, are a vector (a face encoding has 128), not a reading's figures.
LETTER_NUMBER_RUN = 16
_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_NUMBERS = re.compile(rf"{_NUMBER}(?:\s*,\s*{_NUMBER}){{{LETTER_NUMBER_RUN},}}")


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
