"""Whether a token still stands: its user is active, it was issued under the user's current token generation (a
disable raises it), and it was not revoked by logout. Checked on every request and, periodically, by live streams."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cloud.api.security import TokenClaims
from cloud.store.users import RevokedToken, User


def user_for(session: Session, claims: TokenClaims, now: datetime) -> User | None:
    """The token's user when the token still stands at `now`, else None."""
    if claims.expires_at <= now:
        return None
    user = session.get(User, claims.user_id)
    if user is None or not user.active or user.token_generation != claims.generation:
        return None
    if session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == claims.jti)) is not None:
        return None
    return user


def revoke(session: Session, claims: TokenClaims, now: datetime) -> None:
    """Refuse this token from now on (logout); tokens past their expiry are dropped, as they are refused anyway."""
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    # One statement that does not depend on a read: the same token logged out twice at once is revoked once, never
    # a key collision.
    insert: Any = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(RevokedToken).values(jti=claims.jti, expires_at=claims.expires_at)
                    .on_conflict_do_nothing(index_elements=[RevokedToken.jti]))
    session.commit()


def revoke_all(user: User) -> None:
    """Revoke every token the user holds (the caller commits): a disable, which an enable does not undo."""
    # In SQL, not in Python: two revocations at once (a disable and a password reset from two API processes) each
    # add one, so a token issued between them is refused too; `+= 1` on the value read would lose one of them.
    user.token_generation = User.token_generation + 1
