"""The API's models of spot checks, on-site records, the veto and the annual assessment (the evidence behind a
station's subsidy); the other models are in `schemas.py`."""

from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cloud.api import moments
from cloud.api.schemas import Day


class SpotCheckIn(BaseModel):
    """A plan: a local day and window; all stations, a town, named stations, or a random draw (seed recorded)."""

    model_config = ConfigDict(extra="forbid")

    date: moments.Day
    start: time
    end: time
    scope: Literal["all", "town", "random", "stations"] | None = Field(
        default=None, description="default: random with `sample`, else town with `town`, else stations, else all"
    )
    town: str | None = Field(default=None, min_length=1, max_length=200)
    sample: int | None = Field(default=None, ge=1, le=100_000)
    seed: int | None = Field(default=None, ge=0, le=2**62)
    stations: list[str] | None = Field(default=None, max_length=10_000)


SpotResultValue = Literal["pass", "fail", "excused", "unverifiable"]
ReviewValue = Literal["pending", "sensor", "needs_visit", "awaiting_sensor", "agreed", "disputed", "decided"]


class OnsiteOut(BaseModel):
    """What an inspector found at the door, and the bureau's decision when the record disputed the sensors."""

    found: Literal["open", "closed", "other"]
    notes: str
    visited_at: datetime
    recorded_by: str
    recorded_at: datetime
    decided_outcome: Literal["pass", "fail", "excused"] | None
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    sensor_at_decision: SpotResultValue | None


class SpotCheckResultOut(BaseModel):
    """One station's result on a planned check (its key is the plan id and the station): the sensors' verdict,
    the on-site record beside it, and the result that counts toward the veto."""

    plan_id: int
    station: str
    station_name: str
    town: str
    date: Day
    start: str
    end: str
    result: SpotResultValue = Field(description="what counts toward the veto: the bureau's decision, else the sensors'")
    sensor_result: SpotResultValue = Field(description="the sensors' verdict on the window")
    reason_code: str | None = Field(default=None, description=(
        "why the sensors judged so, as a stable code a client translates: open, closed, closed_brief_openings, "
        "devices_off, approved_closure, not_working_day, outside_hours, calendar_unknown, platform_lost_messages, "
        "clock_behind, clock_unanswered, clock_stepped (null on results judged before codes)"))
    reason: str | None = Field(description="why the sensors judged so, in an English sentence with the details")
    checked_minutes: int
    open_minutes: int
    closed_minutes: int
    unknown_minutes: int
    stretches: list[str] = Field(description="closed (or not-shown-open) stretches behind a fail or unverifiable")
    judged_at: datetime
    review: ReviewValue
    onsite: OnsiteOut | None


class SpotCheckPlanOut(BaseModel):
    id: int
    date: date
    start: str
    end: str
    scope: str
    town: str | None
    sample: int | None
    seed: int | None
    stations: list[str]
    created_by: str
    created_at: datetime
    planner_role: str = Field(description="`bureau` or `town`: whose check it is (the veto counts the bureau's, and "
                              "the towns' only where the rules say so)")
    results: dict[str, int] = Field(description="how many stations got each result so far")


class VetoOut(BaseModel):
    station: str
    station_name: str
    town: str
    year: int
    failed: int
    veto: bool | None = Field(description="null: the veto does not apply (a care centre or neighbourhood point)")
    failed_dates: list[str]


class AssessmentRow(BaseModel):
    """A station's year at a glance: what the assessment sheet concludes."""

    station: str
    station_name: str
    town: str
    kind: str = Field(description="station (graded), care_centre or neighbourhood_point")
    graded: bool = Field(description="the grade's monthly threshold, veto and subsidy apply (a station); false for a "
                         "care centre or neighbourhood point: those fields are null (not applicable)")
    grade: str | None
    year: int
    months: int = Field(description="the year's months that are over (a month still running is not judged yet)")
    months_met: int | None = Field(description="months over whose elders served reached the grade's threshold; "
                                   "null when not graded")
    months_unconfirmed: int | None = Field(
        default=None, description="months over whose elders served cannot be confirmed (no face data): neither met "
                                  "nor missed, and not in `months_met`; null when not graded")
    months_with_activity: int = Field(description="months over with at least one themed activity")
    monthly_average: float | None = Field(description="elders served per month, averaged over the months over that "
                                          "have a figure (face data)")
    monthly_average_met: bool | None = Field(
        default=None, description="the monthly average reaches the threshold even with the months without face data "
                                  "counted as 0; null when it cannot be confirmed (it does only without them) or "
                                  "when not graded; false only when every month had a figure")
    threshold: int | None
    elders_uncorroborated: int = Field(description="elders seen with no people-counter crossing and so not served, "
                                       "summed over the months (each month distinct)")
    faces_uncorroborated_days: int = Field(description="days flagged faces_uncorroborated or faces_unchecked")
    compliance: float | None = Field(description="the year's opening rate: minutes open over scheduled minutes, "
                                     "unknown minutes never open; null with less than `month_min_known_share` known")
    failed_spot_checks: int
    veto: bool | None = Field(description="null when not graded (the veto does not apply)")
    subsidy_cny: int | None = Field(description="the grade's subsidy when the station runs normally; null when not "
                                    "graded (no operating subsidy by grade)")
    eligible: bool | None = Field(description="false with a veto; null until the assessors' score is known, or when "
                                  "not graded")
    subsidy_if_eligible: int | None = Field(description="0 with a veto, else the grade's subsidy (if the score "
                                            "reaches `pass_score`, 80); null when not graded")
    subsidy: int | None
