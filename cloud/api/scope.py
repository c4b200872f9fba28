"""Who may see which station: the one place the scoping rules live, as SQL conditions and a 404 guard."""

from fastapi import HTTPException, status
from sqlalchemy import ColumnElement, and_, false, select, true
from sqlalchemy.orm import Session

from cloud.store.models import Alert, AlertKind, Station
from cloud.store.users import User

# Roles that see station data (counts, timelines, activities). Dispatchers see emergency alerts only.
STATION_DATA_ROLES = frozenset({"bureau", "town", "station"})


def station_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on the stations table: the stations this user may see."""
    if user.role in ("bureau", "dispatch"):
        return true()
    if user.role == "town":
        towns = user.town_names
        return Station.town.in_(towns) if towns else false()
    if user.role == "station" and user.station_id:
        return Station.id == user.station_id
    return false()


def get_visible_station(session: Session, user: User, station_id: str) -> Station:
    """The station, or 404 when it does not exist or lies outside the user's scope (the same answer for both)."""
    if user.role not in STATION_DATA_ROLES:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {user.role} role may not see station data")
    station = session.scalars(select(Station).where(Station.id == station_id, station_condition(user))).first()
    if station is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no station {station_id!r} in your scope")
    return station


# Spot checks are unannounced: an alert raised during the check window would warn the station, so station staff
# never see spot-check alerts. Equipment switched off in working hours is evidence against the station, for its town
# and the bureau to weigh: station staff can neither see nor resolve it.
HIDDEN_FROM_STATION = (AlertKind.SPOT_CHECK_CLOSED.value, AlertKind.SPOT_CHECK_UNVERIFIABLE.value,
                       AlertKind.EQUIPMENT_OFF.value)


def alert_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on alerts joined with stations: the alerts this user may see and act on."""
    if user.role == "dispatch":
        return Alert.kind == AlertKind.EMERGENCY_CALL.value
    if user.role == "station":
        return and_(station_condition(user), Alert.kind.not_in(HIDDEN_FROM_STATION))
    return station_condition(user)
