"""Response and request models of the API: explicit, so the OpenAPI document says exactly what comes back."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cloud.api import moments
from cloud.rules.records import DayRecord, MonthRecord
from cloud.store.users import Role
from station_protocol.ids import ID_PATTERN, checked_station_id

# Station ids in bodies and paths: the same rule as the registry and the broker (a 422 with the reason); the pattern
# is there for the OpenAPI document.
StationIdValue = Annotated[str, Field(pattern=ID_PATTERN, max_length=63), AfterValidator(checked_station_id)]
StationIdParam = Annotated[str, Path(pattern=ID_PATTERN, max_length=63), AfterValidator(checked_station_id)]

# A range of local days in a query, both ends inclusive and optional: `?from=YYYY-MM-DD&to=YYYY-MM-DD`.
FromDay = Annotated[moments.Day | None, Query(alias="from")]
ToDay = Annotated[moments.Day | None, Query(alias="to")]

TodayState = Literal["open", "closed", "partial", "unknown", "excused", "not_scheduled", "not_started", "no_data"]
Day = date  # for models with a field named `date`


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="seconds until the token expires")


class Me(BaseModel):
    name: str
    role: Role
    towns: list[str]
    station: str | None
    provider: str | None = Field(default=None, description="home care: the provider a provider's manager works for")
    caregiver: str | None = Field(default=None, description="home care: a caregiver's job number")
    alert_actions: dict[Literal["acknowledge", "resolve"], list[str]] = Field(
        description="the alert kinds this user may acknowledge and resolve (within the alerts they see)")
    timezone: str = Field(description="the deployment's zone (IANA name): the dashboard shows every time in it")


class StationOut(BaseModel):
    """A station as listed: who it is, and its state today."""

    id: str
    name: str
    town: str
    kind: str = Field(description="station (居家养老服务站, graded), care_centre (照料中心) or "
                      "neighbourhood_point (睦邻点)")
    grade: str | None = Field(description="2A-5A; null for a care centre or neighbourhood point (no grade)")
    address: str | None
    weekdays: str
    hours: str
    today: TodayState | None = Field(
        description="today's verdict so far; `not_started` before its first working session begins, `no_data` when "
        "nothing was derived after that; null for dispatch, which sees no verdicts")
    compliance: float | None = Field(description="open share of today's scheduled minutes so far")
    online: bool | None = Field(description="the station's agent is online: heard within `liveness_minutes` and not "
                                "stopped (its newest message an `online: false` status); null for dispatch, or an "
                                "agent never heard")
    active_alerts: int = Field(description="unresolved alerts of the station that this user may list")


class TownCount(BaseModel):
    town: str
    stations: int
    open: int
    closed: int
    partial: int
    unknown: int
    not_started: int = Field(description="working today, but its first session has not begun yet (not offline)")
    other: int = Field(description="excused, not scheduled, or nothing derived yet")


class GradeProgress(BaseModel):
    """The graded stations of one grade (care centres and neighbourhood points have no grade, and are not here)."""

    grade: str
    stations: int
    threshold: int
    elders_median: float | None = Field(
        description="median month-to-date distinct elders of the grade's stations that have a confirmed figure "
                    "(face data); null when none has: their figure is unknown, not 0")
    on_track: int = Field(description="stations whose projection meets the threshold")
    met: int = Field(description="stations that already met it")
    unconfirmed: int = Field(default=0, description="stations whose threshold cannot be confirmed (no face data)")


class Overview(BaseModel):
    """The overview page in one answer: today's states by town, active alerts, month-to-date progress by grade."""

    date: date
    month: str = Field(description="the month the grade progress is for: the current month, or the latest month "
                       "holding results while the current one has none yet")
    current_month: str
    now: datetime = Field(description="the server's time, in the deployment's zone")
    towns: list[TownCount]
    grades: list[GradeProgress]
    active_alerts: int
    active_emergencies: int
    agents_offline: int = Field(description="stations whose agent is offline now, whatever their opening state")


class Segment(BaseModel):
    start: datetime
    end: datetime
    state: Literal["open", "closed", "unknown", "upcoming"] = Field(
        description="`upcoming`: today's scheduled time still to come (not judged)")
    evidence: dict[str, Any] = Field(default_factory=dict)


class DeviceHealth(BaseModel):
    device: str
    kind: str
    last_seen_at: datetime
    ok: bool | None
    error: str | None
    online: bool | None = Field(description="agent only: heard within `liveness_minutes` and not stopped; null for "
                                "other devices")


class DayOut(DayRecord):
    """A station-day: the stored day line (the same typed record `cloud derive` prints), its timeline with evidence,
    and device health."""

    model_config = ConfigDict(extra="forbid")

    station_name: str
    timeline: list[Segment]
    devices: list[DeviceHealth]
    counts: dict[str, int] = Field(description="events of each kind received for the day")
    derived_at: datetime = Field(description="when the worker last recomputed it")
    state_so_far: str | None = Field(
        default=None, description="today only: the state judged on the hours known so far (the verdict counts the "
        "hours still to come as unknown); `not_started` before the first session")
    timezone: str = Field(description="the station's zone: the timeline's times are in it")
    as_of: datetime | None = Field(default=None, description="today only: the time the state is judged at")
    unknown_so_far: list[str] | None = Field(
        default=None, description="today only: unknown spans up to now (`HH:MM-HH:MM`, station time)")
    upcoming: list[str] | None = Field(default=None, description="today only: scheduled spans still to come")
    latest_data_day: Day | None = Field(
        default=None, description="the station's latest day up to today holding data (an opening state or visitors)")


class MonthDay(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date
    verdict: str = Field(description="the day's verdict; for today, its state so far (as `state_so_far`)")
    compliance: float | None = Field(description="the day's open share of its scheduled minutes; for today, so far")
    known_share: float | None
    unknown_minutes: int
    person_times: int
    elders: int
    elders_uncorroborated: int = Field(description="enrolled elders seen with no counter crossing: not served")
    anonymous_visitors: int
    flags: list[str]


class MonthOut(MonthRecord):
    """A station-month: the stored month line (the same typed record `cloud derive` prints) and every day of it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    station_name: str
    activities: int = Field(description="themed activities recorded this month (the rules require at least one)")
    days: list[MonthDay]


class AlertOut(BaseModel):
    id: int
    kind: str
    station: str
    station_name: str
    town: str
    status: str
    level: str
    raised_at: datetime
    escalated_at: datetime | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    notes: str | None
    evidence: dict[str, Any] | None
    call_id: str | None
    anomaly: str | None = Field(default=None, description="a sensor_anomaly's finding: door-closed-entries, "
                                "counter-zero, camera-silent, door-open-idle, door-unwatched, faces-unbacked, "
                                "faces-uncorroborated, readings-repeated, late-evidence, readings-out-of-sequence, "
                                "clock-behind, clock-unanswered, clock-stepped")


class AlertAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: str | None = Field(default=None, max_length=2000)


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    station: StationIdValue
    day: moments.Day
    theme: str = Field(min_length=1, max_length=200)
    participants: int = Field(ge=0, le=100_000)
    notes: str = Field(default="", max_length=2000)


class ActivityOut(BaseModel):
    id: int
    station: str
    day: date
    theme: str
    participants: int
    notes: str
    recorded_by: str
    recorded_at: datetime


class Page(BaseModel):
    total: int
    limit: int
    offset: int
