"""Dependencies as short Annotated aliases: the runtime, a database session, the current user, role guards."""

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from cloud.api.config import ApiConfig
from cloud.api.runtime import Runtime
from cloud.api.security import read_token
from cloud.rules.config import RulesConfig
from cloud.store.users import User

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_config(runtime: RuntimeDep) -> ApiConfig:
    return runtime.config


ConfigDep = Annotated[ApiConfig, Depends(get_config)]


def get_rules(runtime: RuntimeDep) -> RulesConfig:
    return runtime.rules


RulesDep = Annotated[RulesConfig, Depends(get_rules)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with runtime.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
TokenDep = Annotated[str, Depends(oauth2)]

_UNAUTHORISED = HTTPException(
    status.HTTP_401_UNAUTHORIZED, "not logged in, or the token expired", headers={"WWW-Authenticate": "Bearer"}
)


def _user_for(session: Session, runtime: Runtime, token: str) -> User:
    claims = read_token(token, secret=runtime.settings.secret_key.get_secret_value())
    if claims is None:
        raise _UNAUTHORISED
    user = session.get(User, claims.user_id)
    if user is None or not user.active:
        raise _UNAUTHORISED
    return user


def get_current_user(session: SessionDep, runtime: RuntimeDep, token: TokenDep) -> User:
    return _user_for(session, runtime, token)


def get_stream_user(runtime: RuntimeDep, token: TokenDep) -> User:
    """The user, looked up in a session of its own that is closed at once: a live stream lasts for hours and must
    not hold a pooled database connection all that time (the request's session lives as long as the response)."""
    with runtime.sessions() as session:
        return _user_for(session, runtime, token)  # towns are loaded eagerly, so the user stays usable


CurrentUser = Annotated[User, Depends(get_current_user)]
StreamUser = Annotated[User, Depends(get_stream_user)]


def require_roles(*roles: str) -> Any:
    """A dependency that lets only these roles through (403 for the others)."""

    def guard(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {user.role} role may not use this")
        return user

    return Depends(guard)


BureauUser = Annotated[User, require_roles("bureau")]
SupervisorUser = Annotated[User, require_roles("bureau", "town")]
StationViewer = Annotated[User, require_roles("bureau", "town", "station")]
