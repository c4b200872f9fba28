"""Password hashing (Argon2 through pwdlib) and expiring bearer tokens (HS256 JWT through pyjwt)."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from pwdlib import PasswordHash

ALGORITHM = "HS256"


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    # Built on first use, not at import; Argon2id with pwdlib's recommended parameters.
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bool(_hasher().verify(password, password_hash))
    except Exception:  # a corrupt or foreign hash is a failed login, not a server error
        return False


def dummy_verify() -> None:
    """Spend the time of a real verification, so unknown user names cannot be told apart by timing."""
    verify_password("not-the-password", _dummy_hash())


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("dummy-password-for-timing")


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: who, its own id (for logout), the user's token generation it was issued under (for
    disabling), and when it expires."""

    user_id: int
    name: str
    jti: str
    generation: int
    expires_at: datetime


def issue_token(
    *, user_id: int, name: str, secret: str, minutes: int, generation: int = 0, now: datetime | None = None
) -> str:
    issued = now or datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        "name": name,
        "jti": secrets.token_urlsafe(16),
        "gen": generation,
        "iat": issued,
        "exp": issued + timedelta(minutes=minutes),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def read_token(token: str, *, secret: str) -> TokenClaims | None:
    """The claims of a valid, unexpired token, else None (expired, forged, malformed, or without an id)."""
    try:
        payload = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "jti", "gen"]}
        )
        jti, generation = payload["jti"], payload["gen"]
        if not isinstance(jti, str) or not 0 < len(jti) <= 64 or type(generation) is not int:
            return None
        return TokenClaims(
            user_id=int(payload["sub"]),
            name=str(payload.get("name", "")),
            jti=jti,
            generation=generation,
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
        return None
