"""The QR code on an elder's door that a caregiver scans to sign a visit in and out: a signed token, and its image.

The code holds no personal data: only an opaque reference to the elder (a keyed hash of the elder's id, useless
without the platform's key) and the id of the token, signed with HMAC-SHA256 under a key derived from the platform's
secret key for this purpose alone (a token of another kind, or a login token, can never pass for one of these).
Whether a token id still stands (issued, not revoked) is the store's question: a lost or copied code is revoked and
a new one issued and printed.

The printed text is `EC1.<elder ref>.<token id>.<signature>`, all URL-safe base64; the image is made by segno.
"""

import base64
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass

import segno

PREFIX = "EC1"
# Separates this key from every other use of the platform's secret key; a new version gets a new label.
_PURPOSE = b"eldercare-monitor/homecare/visit-qr/v1"
_REF_BYTES = 12  # 96 bits: no two elders of a deployment collide
_SIG_BYTES = 16  # 128-bit truncated HMAC-SHA256, as RFC 2104 allows
TOKEN_ID_BYTES = 16
MAX_TOKEN_CHARS = 200  # anything longer is not one of ours, refused before any work


@dataclass(frozen=True)
class QrClaims:
    """What a well-signed code says: whose door it hangs on (as the opaque reference) and which issue it is."""

    elder_ref: str
    token_id: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def qr_key(secret_key: str) -> bytes:
    """The key for visit codes, derived from the platform's secret key and separate from its other uses."""
    return hmac.new(secret_key.encode("utf-8"), _PURPOSE, hashlib.sha256).digest()


def elder_ref(key: bytes, elder_id: str) -> str:
    """The elder as the code names it: the same elder always gets the same reference, which tells nothing."""
    return _b64(hmac.new(key, b"elder\x00" + elder_id.encode("utf-8"), hashlib.sha256).digest()[:_REF_BYTES])


def new_token_id() -> str:
    return _b64(secrets.token_bytes(TOKEN_ID_BYTES))


def _signature(key: bytes, body: str) -> str:
    return _b64(hmac.new(key, b"token\x00" + body.encode("ascii"), hashlib.sha256).digest()[:_SIG_BYTES])


def make_token(key: bytes, elder_id: str, token_id: str) -> str:
    """The text printed in the elder's code. The same inputs always give the same text, so a lost print can be
    printed again from the stored token id without storing the text."""
    body = f"{PREFIX}.{elder_ref(key, elder_id)}.{token_id}"
    return f"{body}.{_signature(key, body)}"


def read_token(key: bytes, text: str) -> QrClaims | None:
    """The claims of a code signed with `key`, or None for anything else (forged, altered, truncated, foreign)."""
    text = text.strip()
    if len(text) > MAX_TOKEN_CHARS or not text.isascii():
        return None
    parts = text.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or not all(parts):
        return None
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_signature(key, body), parts[3]):
        return None
    return QrClaims(elder_ref=parts[1], token_id=parts[2])


def names_elder(key: bytes, claims: QrClaims, elder_id: str) -> bool:
    """Whether the code names this elder."""
    return hmac.compare_digest(claims.elder_ref, elder_ref(key, elder_id))


def png(text: str, *, scale: int = 8) -> bytes:
    """The code as a PNG: error correction level Q (a quarter of the code may be soiled or scratched), with the
    four-module quiet zone scanners need."""
    out = io.BytesIO()
    segno.make_qr(text, error="q").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def svg(text: str, *, scale: int = 8) -> str:
    """The code as an SVG document (prints sharp at any size)."""
    out = io.BytesIO()
    segno.make_qr(text, error="q").save(out, kind="svg", scale=scale, border=4, xmldecl=False)
    return out.getvalue().decode("utf-8")
