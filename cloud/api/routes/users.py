"""User management in the dashboard. The bureau manages users of every role: add, disable or enable, reset a password,
change role, towns or station. A town officer manages the accounts of its own stations' staff only (add, disable,
reset, move between its stations), and a home-care provider's manager the accounts of its own caregivers (add,
disable, reset, move to another of its caregivers); other users do not exist for them (404, as for a user outside
anyone's scope).

The rules are the command line's (`cloud.accounts`). A disable, a password reset or a change of role or scope revokes
the user's tokens at once.
Every change is kept in the audit log; a password never is, nor is it ever returned.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, status
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, false, select, true
from sqlalchemy.orm import Session

from cloud.accounts import homecare_problem, name_problem, password_problem, scope_problem
from cloud.api import audit
from cloud.api.deps import ConfigDep, SessionDep, require_roles
from cloud.api.security import hash_password
from cloud.api.tokens import revoke_all
from cloud.store.homecare import HomecareCaregiver
from cloud.store.models import Station
from cloud.store.user_scope import unregistered_problem
from cloud.store.users import User, UserTown

router = APIRouter(prefix="/users", tags=["users"])
RoleName = Literal["bureau", "town", "station", "dispatch", "provider", "caregiver"]
# Who manages accounts at all (each only those `_managed` gives them).
Officer = Annotated[User, require_roles("bureau", "town", "provider")]
UserId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
Password = Annotated[str, Field(max_length=1024)]
Towns = Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=50)]
HomecareId = Annotated[str | None, Field(max_length=63)]


class UserOut(BaseModel):
    id: int
    name: str
    role: RoleName
    towns: list[str]
    station: str | None
    provider: str | None
    caregiver: str | None
    active: bool
    created_at: datetime


class UserIn(BaseModel):
    name: Annotated[str, Field(max_length=64)]
    role: RoleName
    password: Password
    towns: Towns = []
    station: Annotated[str | None, Field(max_length=63)] = None
    provider: HomecareId = Field(default=None, description="the home-care provider's id; role provider only")
    caregiver: HomecareId = Field(default=None, description="the caregiver's job number; role caregiver only")


class UserChange(BaseModel):
    """The new role and scope (fields left out keep their values)."""

    role: RoleName | None = None
    towns: Towns | None = None
    station: Annotated[str | None, Field(max_length=63)] = None
    provider: HomecareId = None
    caregiver: HomecareId = None


class PasswordIn(BaseModel):
    password: Password


def _out(user: User) -> UserOut:
    return UserOut(id=user.id, name=user.name, role=user.role, towns=user.town_names, station=user.station_id,
                   provider=user.provider_id, caregiver=user.caregiver_id, active=user.active,
                   created_at=user.created_at)


def _fields(user: User) -> dict[str, Any]:
    """What the audit log keeps of a user (never the password hash)."""
    return {"role": user.role, "towns": user.town_names, "station": user.station_id, "provider": user.provider_id,
            "caregiver": user.caregiver_id, "active": user.active}


def _managed(officer: User) -> ColumnElement[bool]:
    """A WHERE condition on users: those this officer manages (bureau: everyone; town: its stations' staff; a
    provider's manager: its own caregivers)."""
    if officer.role == "bureau":
        return true()
    if officer.role == "town" and officer.town_names:
        own = select(Station.id).where(Station.town.in_(officer.town_names))
        return and_(User.role == "station", User.station_id.in_(own))
    if officer.role == "provider" and officer.provider_id:
        staff = select(HomecareCaregiver.id).where(HomecareCaregiver.provider_id == officer.provider_id)
        return and_(User.role == "caregiver", User.caregiver_id.in_(staff))
    return false()


def _get(session: Session, officer: User, user_id: int) -> User:
    user = session.scalars(select(User).where(User.id == user_id, _managed(officer))).first()
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {user_id} you manage")
    return user


def _check_scope(session: Session, officer: User, role: str, towns: list[str], station: str | None,
                 provider: str | None = None, caregiver: str | None = None) -> None:
    problem = scope_problem(role, towns, station) or homecare_problem(role, provider, caregiver)
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    if officer.role == "town" and role != "station":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a town officer manages station staff accounts only")
    if officer.role == "provider" and role != "caregiver":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a provider manages its own caregivers' accounts only")
    if unregistered := unregistered_problem(session, provider, caregiver,
                                            officer.provider_id if officer.role == "provider" else None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, unregistered)
    for town in towns:
        # As an unregistered station is refused: a town no registered station is in (a typo) gives an officer an
        # empty dashboard. The command line only warns, so officers can be added before their stations are imported.
        if session.scalar(select(Station.id).where(Station.town == town).limit(1)) is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"no registered station is in town {town!r}")
    if station is not None:
        where = Station.id == station
        if officer.role == "town":
            where = and_(where, Station.town.in_(officer.town_names))
        if session.scalar(select(Station.id).where(where)) is None:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"station {station!r} is not registered" + (" in your towns"
                                                                            if officer.role == "town" else ""))


@router.get("", response_model=list[UserOut])
def list_users(officer: Officer, session: SessionDep) -> list[UserOut]:
    return [_out(u) for u in session.scalars(select(User).where(_managed(officer)).order_by(User.role, User.name))]


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses={409: {}, 422: {}})
def add_user(body: UserIn, officer: Officer, session: SessionDep, config: ConfigDep) -> UserOut:
    towns = list(dict.fromkeys(t.strip() for t in body.towns))
    problem = name_problem(body.name) or password_problem(body.password)
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    _check_scope(session, officer, body.role, towns, body.station, body.provider, body.caregiver)
    if session.scalar(select(User.id).where(User.name == body.name)) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"user {body.name!r} already exists")
    user = User(name=body.name, role=body.role, password_hash=hash_password(body.password), station_id=body.station,
                provider_id=body.provider, caregiver_id=body.caregiver, active=True, created_at=config.clock())
    user.towns = [UserTown(town=t) for t in towns]
    session.add(user)
    session.flush()
    audit.record(session, officer, "user.add", "user", user.name, config.clock(), after=_fields(user))
    session.commit()
    return _out(user)


@router.patch("/{user_id}", response_model=UserOut, responses={404: {}, 409: {}, 422: {}})
def change_user(user_id: UserId, body: UserChange, officer: Officer, session: SessionDep,
                config: ConfigDep) -> UserOut:
    """Change the user's role or scope. When anything changes, every token they hold is revoked: open pages and live
    streams end within seconds, and the next login carries the new scope."""
    user = _get(session, officer, user_id)
    role = body.role or user.role
    given = body.model_fields_set
    # A role change drops the old role's scope unless a new one is given.
    towns = list(dict.fromkeys(t.strip() for t in body.towns)) if body.towns is not None else (
        user.town_names if role == "town" else [])
    station = body.station if "station" in given else (user.station_id if role == "station" else None)
    provider = body.provider if "provider" in given else (user.provider_id if role == "provider" else None)
    caregiver = body.caregiver if "caregiver" in given else (user.caregiver_id if role == "caregiver" else None)
    if user.id == officer.id and role != officer.role:
        raise HTTPException(status.HTTP_409_CONFLICT, "you cannot change your own role")
    _check_scope(session, officer, role, towns, station, provider, caregiver)
    before = _fields(user)
    user.role, user.station_id, user.provider_id, user.caregiver_id = role, station, provider, caregiver
    # Keep the rows of towns that stay (a new row for one of them would collide with the old one in the same flush).
    user.towns = [t for t in user.towns if t.town in towns] + [
        UserTown(town=t) for t in towns if t not in user.town_names]
    session.flush()
    after = _fields(user)
    keys = [k for k in after if before[k] != after[k]]
    if keys:
        # A token and an open live stream carry the scope the user had when they logged in: the old scope's pages
        # and alerts end now, and the next login brings the new one.
        revoke_all(user)
        audit.record(session, officer, "user.change", "user", user.name, config.clock(),
                     before={k: before[k] for k in keys}, after={k: after[k] for k in keys})
    session.commit()
    return _out(user)


def _set_active(user_id: int, active: bool, officer: User, session: Session, now: datetime) -> UserOut:
    user = _get(session, officer, user_id)
    if user.id == officer.id:
        raise HTTPException(status.HTTP_409_CONFLICT, "you cannot disable or enable yourself")
    if user.active != active:
        user.active = active
        if not active:
            revoke_all(user)  # open pages and live streams lose access at once
        audit.record(session, officer, "user.enable" if active else "user.disable", "user", user.name, now,
                     before={"active": not active}, after={"active": active})
    session.commit()
    return _out(user)


@router.post("/{user_id}/disable", response_model=UserOut, responses={404: {}, 409: {}})
def disable_user(user_id: UserId, officer: Officer, session: SessionDep, config: ConfigDep) -> UserOut:
    """Stop the user logging in; every token they hold stops working (an enable does not bring them back)."""
    return _set_active(user_id, False, officer, session, config.clock())


@router.post("/{user_id}/enable", response_model=UserOut, responses={404: {}, 409: {}})
def enable_user(user_id: UserId, officer: Officer, session: SessionDep, config: ConfigDep) -> UserOut:
    return _set_active(user_id, True, officer, session, config.clock())


@router.post("/{user_id}/password", response_model=UserOut, responses={404: {}, 422: {}})
def reset_password(user_id: UserId, body: PasswordIn, officer: Officer, session: SessionDep,
                   config: ConfigDep) -> UserOut:
    """Set a new password (the command line's strength rule); the user's tokens are revoked, so whoever held the old
    one is logged out."""
    user = _get(session, officer, user_id)
    problem = password_problem(body.password)
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
    user.password_hash = hash_password(body.password)
    revoke_all(user)
    audit.record(session, officer, "user.password", "user", user.name, config.clock(),
                 after={"password": "reset"})
    session.commit()
    return _out(user)
