"""Who may see and do what: the one place the scoping rules live, as SQL conditions, a 404 guard, and the table of
alert actions per role and kind. Every list and every count goes through these conditions."""

from collections.abc import Mapping
from typing import Literal

from fastapi import HTTPException, status
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from cloud.alerts.kinds import AlertKind
from cloud.store.models import Alert, Station
from cloud.store.users import User, role_condition

# Roles that see station data (verdicts, counts, timelines, activities). Dispatchers see emergency calls and the
# stations they come from (name, town, address, hours: where to send help), never a station's verdicts.
STATION_DATA_ROLES = frozenset({"bureau", "town", "station"})


def sees_station_data(user: User) -> bool:
    return user.role in STATION_DATA_ROLES


def station_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on the stations table: the stations this user may see."""
    return role_condition(user, everything=("bureau", "dispatch"), town=Station.town.in_,
                          station=lambda station: Station.id == station)


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
    if user.role == "town" and user.town_names:
        # A home-care alert has no station: it goes to the provider's town (Alert.town).
        return or_(station_condition(user), Alert.town.in_(user.town_names))
    return station_condition(user)


ActionName = Literal["acknowledge", "resolve"]
_ALL_KINDS = frozenset(k.value for k in AlertKind)
_CALL = frozenset({AlertKind.EMERGENCY_CALL.value})
# Alerts of the whole deployment, of no station (the working calendar misses a year): the bureau's alone.
_BUREAU_ONLY = frozenset({AlertKind.CALENDAR_UNKNOWN_YEAR.value})

# Who may acknowledge and resolve which kind of alert (on top of seeing it at all, which alert_condition decides).
# Station staff answer their elders' calls and may say they have seen their station's offline or anomaly alert, but
# only the town or the bureau closes those: a station must not clear the alerts raised about itself (the kinds it
# never sees are in HIDDEN_FROM_STATION). Dispatch handles emergency calls only.
ALERT_ACTIONS: Mapping[str, Mapping[ActionName, frozenset[str]]] = {
    "bureau": {"acknowledge": _ALL_KINDS, "resolve": _ALL_KINDS},
    "town": {"acknowledge": _ALL_KINDS - _BUREAU_ONLY, "resolve": _ALL_KINDS - _BUREAU_ONLY},
    "station": {
        "acknowledge": frozenset({
            AlertKind.EMERGENCY_CALL.value, AlertKind.STATION_OFFLINE.value, AlertKind.SENSOR_ANOMALY.value,
        }),
        "resolve": _CALL,
    },
    "dispatch": {"acknowledge": _CALL, "resolve": _CALL},
}


def may_act(user: User, action: ActionName, kind: str) -> bool:
    return kind in ALERT_ACTIONS.get(user.role, {}).get(action, frozenset())



# Home care (居家上门服务): its scope conditions live with its tables' functions (cloud.homecare.scope).
from cloud.homecare.scope import (  # noqa: E402  (re-exported: the one place scoping rules are looked up)
    HOMECARE_ROLES,
    homecare_caregiver_condition,
    homecare_complaint_condition,
    homecare_elder_condition,
    homecare_provider_condition,
    homecare_visit_condition,
)

__all__ = ["HOMECARE_ROLES", "homecare_caregiver_condition", "homecare_complaint_condition",
           "homecare_elder_condition", "homecare_provider_condition", "homecare_visit_condition"]
