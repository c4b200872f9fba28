"""The elders' visit codes in the store: issue, revoke, re-issue, and check a scanned code. The caller commits.

An elder has at most one code standing at a time. Re-issuing (a code lost, damaged or copied) revokes the old one in
the same transaction, so the old print stops working the moment the new one exists. Revoked rows are kept: a visit
refers to the token it was signed in with.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.homecare import qr
from cloud.store.homecare import HomecareElder, QrToken
from cloud.store.locks import hold_row


class CodeRefused(ValueError):
    """A scanned code that cannot sign a visit; the message says why in one line."""


class CodeConflict(CodeRefused):
    """A genuine code that does not fit the request: revoked, or another elder's."""


@dataclass(frozen=True)
class CheckedCode:
    """A scanned code that stands: the elder it names and the token id it carries."""

    elder_id: str
    token_id: str


def current(session: Session, elder_id: str) -> QrToken | None:
    """The elder's standing code, if any."""
    return session.scalars(select(QrToken).where(QrToken.elder_id == elder_id, QrToken.revoked_at.is_(None))
                           .order_by(QrToken.issued_at.desc())).first()


def issue(session: Session, elder: HomecareElder, by: str, now: datetime) -> QrToken:
    """A new code for `elder`; refused (CodeConflict) when one already stands: re-issue to replace it."""
    hold_row(session, HomecareElder, elder.id)  # two issues at once: the second finds the first's code
    if current(session, elder.id) is not None:
        raise CodeConflict(f"elder {elder.id!r} already has a code; re-issue it to replace a lost or copied one")
    token = QrToken(id=qr.new_token_id(), elder_id=elder.id, issued_at=now, issued_by=by)
    session.add(token)
    session.flush()
    return token


def _revoke_all(session: Session, elder_id: str, by: str, now: datetime) -> list[QrToken]:
    # Every standing row, not only the newest: two issues racing each other must not leave one of them valid.
    standing = list(session.scalars(select(QrToken).where(QrToken.elder_id == elder_id,
                                                          QrToken.revoked_at.is_(None))))
    for token in standing:
        token.revoked_at, token.revoked_by = now, by
    session.flush()
    return standing


def revoke(session: Session, elder: HomecareElder, by: str, now: datetime) -> None:
    """Revoke the elder's standing code (CodeConflict when there is none)."""
    if not _revoke_all(session, elder.id, by, now):
        raise CodeConflict(f"elder {elder.id!r} has no code standing")


def reissue(session: Session, elder: HomecareElder, by: str, now: datetime) -> QrToken:
    """Revoke the standing code (if any) and issue a new one, at once."""
    hold_row(session, HomecareElder, elder.id)  # two re-issues at once: the second revokes the first's code
    _revoke_all(session, elder.id, by, now)
    token = QrToken(id=qr.new_token_id(), elder_id=elder.id, issued_at=now, issued_by=by)
    session.add(token)
    session.flush()
    return token


def check(session: Session, key: bytes, text: str, claimed_elder: str | None = None) -> CheckedCode:
    """The elder and token of a scanned code, or CodeRefused: forged or altered (CodeRefused), unknown, revoked, or
    naming another elder than `claimed_elder` (CodeConflict)."""
    claims = qr.read_token(key, text)
    if claims is None:
        raise CodeRefused("not a valid visit code (forged, altered or from another platform)")
    token = session.get(QrToken, claims.token_id)
    if token is None or not qr.names_elder(key, claims, token.elder_id):
        # Well signed but not one this platform issued under that id: only someone holding the key could make it.
        raise CodeRefused("not a valid visit code (no such code was issued)")
    if token.revoked_at is not None:
        raise CodeConflict(f"this code was revoked at {token.revoked_at.isoformat()}; ask the provider for the "
                           "elder's new code")
    if claimed_elder is not None and claimed_elder != token.elder_id:
        raise CodeConflict("the code is for another elder than claimed")
    return CheckedCode(elder_id=token.elder_id, token_id=token.id)


def text_of(key: bytes, token: QrToken) -> str:
    """The printed text of a stored token (made again, never stored)."""
    return qr.make_token(key, token.elder_id, token.id)
