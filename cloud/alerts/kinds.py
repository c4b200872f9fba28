"""What an alert is: its kinds, statuses and levels as stored, and `AlertSpec`, an alert a rule asks for.

Pure (no store, no rules), so the rules, the store's CHECK constraints and the API's filters share one vocabulary.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class AlertKind(StrEnum):
    EMERGENCY_CALL = "emergency_call"
    SPOT_CHECK_CLOSED = "spot_check_closed"
    SPOT_CHECK_UNVERIFIABLE = "spot_check_unverifiable"
    STATION_OFFLINE = "station_offline"
    SENSOR_ANOMALY = "sensor_anomaly"
    CALENDAR_UNKNOWN_YEAR = "calendar_unknown_year"
    EQUIPMENT_OFF = "equipment_off"
    # Home care: raised to the town of the elders its evidence names (`Alert.town`, no station), or to the bureau
    # (cloud.homecare.routing), with the evidence; never a penalty.
    HOMECARE_DOUBLE_BOOKED = "homecare_double_booked"
    HOMECARE_JUST_LONG_ENOUGH = "homecare_just_long_enough"
    HOMECARE_FAR_AWAY = "homecare_far_away"
    HOMECARE_QR_RATE = "homecare_qr_rate"
    HOMECARE_NO_SIGN_OUT = "homecare_no_sign_out"
    HOMECARE_LATE_UPLOADS = "homecare_late_uploads"
    HOMECARE_SATISFACTION = "homecare_satisfaction"
    HOMECARE_COMPLAINTS = "homecare_complaints"
    HOMECARE_TOWN_SURVEY = "homecare_town_survey"


class AlertStatus(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertLevel(StrEnum):
    """Who is alerted: the station first, then its town, then the dispatch centre."""

    STATION = "station"
    TOWN = "town"
    DISPATCH = "dispatch"
    BUREAU = "bureau"  # deployment-wide, of no station (e.g. the calendar does not know next year)


# Who resolved an alert when no person did.
WORKER = "worker"  # the derivation worker: the data no longer shows the cause
ELDER = "elder"  # the elder cancelled the emergency call at the station


@dataclass(frozen=True, slots=True)
class AlertSpec:
    """An alert the rules say should exist; `cause_key` identifies its cause, so raising it twice is a no-op.
    `station` is None for a bureau alert of the whole deployment, and for a home-care alert, which names the `town`
    it goes to."""

    kind: AlertKind
    station: str | None
    cause_key: str
    level: AlertLevel
    raised_at: datetime
    evidence: dict[str, Any] = field(default_factory=dict)
    call_id: str | None = None
    town: str | None = None
