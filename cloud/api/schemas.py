"""Response and request models of the API: explicit, so the OpenAPI document says exactly what comes back."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cloud.store.users import Role

StationIdPath = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", max_length=63)
TodayState = Literal["open", "closed", "partial", "unknown", "excused", "not_scheduled", "no_data"]


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="seconds until the token expires")


class Me(BaseModel):
    name: str
    role: Role
    towns: list[str]
    station: str | None


class StationOut(BaseModel):
    """A station as listed: who it is, and its state today."""

    id: str
    name: str
    town: str
    grade: str
    address: str | None
    weekdays: str
    hours: str
    today: TodayState = Field(description="today's verdict so far, `no_data` before anything was derived")
    compliance: float | None = Field(description="open share of today's scheduled minutes so far")
    online: bool | None = Field(description="the station's agent is online (its retained status)")
    active_alerts: int


class TownCount(BaseModel):
    town: str
    stations: int
    open: int
    closed: int
    partial: int
    unknown: int
    other: int = Field(description="excused, not scheduled, or nothing derived yet")


class GradeProgress(BaseModel):
    grade: str
    stations: int
    threshold: int
    elders_median: float = Field(description="median month-to-date distinct elders of the grade's stations")
    on_track: int = Field(description="stations whose projection meets the threshold")
    met: int = Field(description="stations that already met it")


class Overview(BaseModel):
    """The overview page in one answer: today's states by town, active alerts, month-to-date progress by grade."""

    date: date
    month: str
    towns: list[TownCount]
    grades: list[GradeProgress]
    active_alerts: int
    active_emergencies: int


class Segment(BaseModel):
    start: datetime
    end: datetime
    state: Literal["open", "closed", "unknown"]
    evidence: dict[str, Any] = Field(default_factory=dict)


class DeviceHealth(BaseModel):
    device: str
    kind: str
    last_seen_at: datetime
    ok: bool | None
    error: str | None
    online: bool | None


class DayOut(BaseModel):
    """A station-day: the `cloud derive` day line's fields, its timeline with evidence, and device health."""

    model_config = ConfigDict(extra="allow")

    type: Literal["day"] = "day"
    station: str
    date: date
    working_day: bool | None
    compliance: float | None
    verdict: str
    person_times: int | None
    elders: int | None
    timeline: list[Segment]
    devices: list[DeviceHealth]
    counts: dict[str, int] = Field(description="events of each kind received for the day")
    derived_at: datetime | None = Field(description="when the worker last recomputed it; null if never")


class MonthDay(BaseModel):
    date: date
    verdict: str
    compliance: float | None
    person_times: int | None
    elders: int | None


class MonthOut(BaseModel):
    """A station-month: the `cloud derive` month line's fields, every day of it, and the projection."""

    model_config = ConfigDict(extra="allow")

    type: Literal["month"] = "month"
    station: str
    month: str
    elders: int | None
    person_times: int | None
    threshold: int | None
    met: bool | None
    projection: float | None
    at_risk: bool | None
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


class AlertAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notes: str | None = Field(default=None, max_length=2000)


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    station: str = StationIdPath
    day: date
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
