"""POST /auth/token: the OAuth2 password form in, an expiring bearer token out; rate-limited per user and address."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import delete, func, select

from cloud.api.deps import ConfigDep, CurrentUser, RuntimeDep, SessionDep
from cloud.api.schemas import Me, Token
from cloud.api.security import dummy_verify, issue_token, verify_password
from cloud.store.users import LoginFailure, User

router = APIRouter(prefix="/auth", tags=["auth"])


def _limit_key(name: str, request: Request) -> str:
    address = request.client.host if request.client else "unknown"
    return f"{name[:100]}|{address}"


@router.post("/token", response_model=Token, responses={401: {}, 429: {}})
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    config: ConfigDep,
) -> Token:
    now = datetime.now(UTC)  # real time: tokens and rate limits are not domain dates
    key = _limit_key(form.username, request)
    since = now - timedelta(seconds=config.login_window_s)
    failures = session.scalar(select(func.count()).where(LoginFailure.key == key, LoginFailure.at >= since)) or 0
    if failures >= config.login_max_failures:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins; try again later",
            headers={"Retry-After": str(config.login_window_s)},
        )
    user = session.scalars(select(User).where(User.name == form.username[:64])).first()
    if user is None:
        dummy_verify()
    if user is None or not user.active or not verify_password(form.password, user.password_hash):
        session.add(LoginFailure(key=key, at=now))
        session.execute(delete(LoginFailure).where(LoginFailure.at < since))
        session.commit()
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "wrong user name or password", headers={"WWW-Authenticate": "Bearer"}
        )
    session.execute(delete(LoginFailure).where(LoginFailure.key == key))
    session.commit()
    minutes = runtime.settings.token_minutes
    token = issue_token(
        user_id=user.id, name=user.name, secret=runtime.settings.secret_key.get_secret_value(), minutes=minutes, now=now
    )
    return Token(access_token=token, expires_in=minutes * 60)


@router.get("/me", response_model=Me)
def me(user: CurrentUser, runtime: RuntimeDep) -> Me:
    return Me(name=user.name, role=user.role, towns=user.town_names, station=user.station_id,
              timezone=runtime.settings.timezone)
