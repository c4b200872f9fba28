"""Tables owned by the API (revisions 0003 and 0005): users and their towns, themed activities, login limits and
revoked tokens."""

from collections.abc import Callable, Collection
from datetime import date, datetime
from typing import Literal, get_args

from sqlalchemy import ColumnElement, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cloud.store.models import Base, UTCDateTime, utcnow

Role = Literal["bureau", "town", "station", "dispatch", "provider", "caregiver"]
ROLES: tuple[str, ...] = get_args(Role)


class User(Base):
    """A person who logs in: bureau administrator, town officer, station staff, dispatcher, or (home care) a service
    provider's manager or one of its caregivers."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Station staff: the one station they work at (no foreign key: staff may be created before the station is
    # imported). Town officers: their rows in user_towns.
    station_id: Mapped[str | None] = mapped_column(String(63), default=None)
    # Home care (revision 0006_homecare), no foreign keys for the same reason: a provider's manager sees that
    # provider's elders, caregivers, visits and figures; a caregiver (identified by job number) only their own visits.
    provider_id: Mapped[str | None] = mapped_column(String(63), default=None)
    caregiver_id: Mapped[str | None] = mapped_column(String(63), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    # Every token carries the generation it was issued under; raising it (on disable) revokes them all at once, and
    # they stay revoked when the user is enabled again.
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    towns: Mapped[list["UserTown"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def town_names(self) -> list[str]:
        return sorted(t.town for t in self.towns)


Condition = ColumnElement[bool]


def role_condition(
    user: User, *, everything: Collection[str] = ("bureau",),
    town: Callable[[list[str]], Condition] | None = None,
    station: Callable[[str], Condition] | None = None,
    provider: Callable[[str], Condition] | None = None,
    caregiver: Callable[[str], Condition] | None = None,
) -> Condition:
    """The shape every scope has, as a WHERE condition: the roles in `everything` see all; a town officer what
    `town` gives for their towns; station staff, a provider's manager or a caregiver what the rule of their role
    gives for their own station, provider or job number. Nothing for a role without a rule, a town officer without
    towns, or staff without their own id: a scope can only be narrowed by a missing assignment, never widened."""
    if user.role in everything:
        return true()
    if user.role == "town":
        towns = user.town_names
        return town(towns) if town is not None and towns else false()
    own = {"station": (station, user.station_id), "provider": (provider, user.provider_id),
           "caregiver": (caregiver, user.caregiver_id)}.get(user.role)
    if own is None:
        return false()
    rule, key = own
    return rule(key) if rule is not None and key else false()


class UserTown(Base):
    """A town assigned to a town officer."""

    __tablename__ = "user_towns"
    __table_args__ = (UniqueConstraint("user_id", "town"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    town: Mapped[str] = mapped_column(String(200))
    user: Mapped[User] = relationship(back_populates="towns")


class Activity(Base):
    """A themed activity a station held (每月至少开展一次主题活动), recorded by its staff."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_station_id_day", "station_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    theme: Mapped[str] = mapped_column(String(200))
    participants: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginLimit(Base):
    """Login attempts counted for one key (a user name or a client address) in a fixed window.

    One row per key, changed by a single INSERT ... ON CONFLICT DO UPDATE ... RETURNING, so parallel guesses each
    get their own count (the database serialises them on the row) and every API process applies the same limit.
    """

    __tablename__ = "login_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)


class RevokedToken(Base):
    """A token revoked before it expired (logout), kept until it would have expired anyway."""

    __tablename__ = "revoked_tokens"
    __table_args__ = (Index("ix_revoked_tokens_expires_at", "expires_at"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
