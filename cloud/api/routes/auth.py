"""POST /auth/token: the OAuth2 password form in, an expiring bearer token out, limited per user name and per client
address; POST /auth/logout revokes the token it is called with."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from cloud.accounts import MAX_NAME
from cloud.api import login_limits, tokens
from cloud.api.deps import ClaimsDep, ConfigDep, CurrentUser, RuntimeDep, SessionDep
from cloud.api.schemas import Me, Token
from cloud.api.scope import ALERT_ACTIONS
from cloud.api.security import dummy_verify, issue_token, verify_password
from cloud.store.users import User

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", response_model=Token, responses={401: {}, 429: {}})
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    config: ConfigDep,
) -> Token:
    now = datetime.now(UTC)  # real time: tokens and rate limits are not domain dates
    keys = login_limits.Keys.of(form.username, request.client.host if request.client else "unknown")
    wait = login_limits.take_slot(
        session, keys, now=now, limit=config.login_max_failures, window_s=config.login_window_s
    )
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins; try again later",
            headers={"Retry-After": str(wait)},
        )
    # The name as given, never cut to the column's length: a cut name would let every suffix of a full-length name
    # reach the same account through a fresh counter of the limit above. A longer name is nobody's; its attempt
    # stays counted like any wrong password.
    user = None if len(form.username) > MAX_NAME else session.scalars(
        select(User).where(User.name == form.username)).first()
    if user is None:
        dummy_verify()
    if user is None or not user.active or not verify_password(form.password, user.password_hash):
        # The slot taken above stays taken: that is the failure counted.
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"}
        )
    login_limits.give_back(session, keys, now=now, window_s=config.login_window_s)
    minutes = runtime.settings.token_minutes
    token = issue_token(
        user_id=user.id,
        name=user.name,
        generation=user.token_generation,
        secret=runtime.settings.secret_key.get_secret_value(),
        minutes=minutes,
        now=now,
    )
    return Token(access_token=token, expires_in=minutes * 60)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses={401: {}})
def logout(user: CurrentUser, claims: ClaimsDep, session: SessionDep) -> Response:
    """Revoke the token this is called with, on every API process at once (the others keep working)."""
    tokens.revoke(session, claims, datetime.now(UTC))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=Me)
def me(user: CurrentUser, runtime: RuntimeDep) -> Me:
    rights = ALERT_ACTIONS.get(user.role, {})
    return Me(
        name=user.name,
        role=user.role,
        towns=user.town_names,
        station=user.station_id,
        provider=user.provider_id,
        caregiver=user.caregiver_id,
        alert_actions={action: sorted(kinds) for action, kinds in rights.items()},
        timezone=runtime.settings.timezone,
    )
