"""A day's and a month's result as one typed model each: what `cloud derive` prints, what the worker stores as JSON
and what the API returns. One shape, built by one function each.

Fields added after the first stored rows have defaults, so a row stored before them still reads (with the default
standing for "not recorded"); recomputing the day writes them.
"""

from datetime import date
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from cloud.rules.day import DayResult, Verdict, closed_spans, hhmm
from cloud.rules.intervals import intersect, merge, subtract
from cloud.rules.losses import backlog_note, describe, note, unconfirmed_note


def _minutes(seconds: float) -> int:
    return round(seconds / 60)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class DayEvidence(BaseModel):
    """The spans behind a day's verdict, as local `HH:MM-HH:MM` text (or `HH:MM:SS+Ns` under a minute)."""

    model_config = ConfigDict(extra="forbid")

    sessions: list[str]
    open: list[str]
    closed: list[str]
    unknown: list[str]
    door_open: list[str]
    activity: list[str]
    offline_marks: int
    presence: list[str] = Field(default_factory=list, description="visitors counted in and not yet out")
    open_unconfirmed: list[str] = Field(default_factory=list, description="working hours open only by a door state "
                                        "or visitors counted in from before a window in which the platform lost "
                                        "messages: a spot check does not count them")


class DayRecord(BaseModel):
    """The `{"type": "day", ...}` line."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["day"] = "day"
    station: str
    date: date
    working_day: bool | None
    compliance: float | None = Field(description="open share of the scheduled minutes (unknown minutes count as "
                                     "not open); 1.0 on an approved closure; null when nothing was scheduled")
    verdict: Verdict
    person_times: int
    elders: int = Field(description="distinct enrolled elders served (role `elder`, seen and corroborated by a "
                        "counter crossing)")
    elders_uncorroborated: int = Field(default=0, description="distinct enrolled elders seen but not served: no "
                                       "counter crossing to back their face (a photograph crosses nothing)")
    elders_unchecked: int = Field(default=0, description="distinct enrolled elders seen only while no counter "
                                  "reported (served only with count_faces_without_counter)")
    anonymous_visitors: int = Field(default=0, description="distinct faces not enrolled (role `unknown`)")
    known_share: float | None = Field(default=None, description="known share of the scheduled minutes")
    compliance_so_far: float | None = Field(default=None, description="while the day runs: open share of the "
                                            "scheduled minutes so far; null once it is over")
    verdict_so_far: Verdict | None = Field(default=None, description="while the day runs: the verdict on the "
                                           "scheduled minutes so far; null once it is over")
    calendar: str
    holiday: str | None
    excused: str | None
    open_share: float | None = Field(description="open share of the known scheduled minutes")
    scheduled_minutes: int
    open_minutes: int
    closed_minutes: int
    unknown_minutes: int
    late_open_minutes: int
    early_close_minutes: int
    scheduled_seconds: int | None = Field(default=None, description="null in rows stored before it was recorded")
    known_seconds: int
    served_seconds: int
    person_times_basis: str
    entries: int
    exits: int = 0
    staff_visits: int
    face_visits: int
    has_counter: bool
    has_camera: bool
    elder_ids: list[str]
    uncorroborated_elder_ids: list[str] = Field(default_factory=list)
    unchecked_elder_ids: list[str] = Field(default_factory=list)
    anonymous_ids: list[str] = Field(default_factory=list)
    count_balance: int | None = Field(default=None, description="counter in - out over the day (null: no counter)")
    equipment_off: list[str] = Field(default_factory=list, description="unknown stretches in working hours after "
                                     "the station was seen that day: its own equipment was off")
    door_idle: list[str] = Field(default_factory=list, description="sessions with the door open and no entry, "
                                 "exit or visitor's face")
    faces_unbacked: list[str] = Field(default_factory=list, description="sessions open only by visitors' faces "
                                      "with no people-counter crossing")
    flags: list[str] = Field(default_factory=list, description="equipment_off, counts_unbalanced, door_open_idle, "
                             "faces_uncorroborated, faces_unchecked, readings_repeated, late_evidence, "
                             "readings_out_of_sequence, faces_unbacked, "
                             "platform_lost_messages, clock_behind, clock_unanswered, clock_stepped")
    platform_lost: list[str] = Field(default_factory=list, description="windows touching the day in which the "
                                     "platform lost a share of every station's messages, local "
                                     "`YYYY-MM-DD HH:MM to YYYY-MM-DD HH:MM`")
    backlog_lost: list[str] = Field(default_factory=list, description="stretches of the day (local `HH:MM-HH:MM`) "
                                    "whose readings the agent was sending from its outbox after an outage when the "
                                    "platform lost messages: some may be missing")
    clock_faults: int
    time_checks: int = Field(default=0, description="answers to the cloud's time checks stamped in the day; 0 on a "
                             "day the agent answered none (it was away, its clock was not trusted yet, or it is from "
                             "before the check): its clock was then not checked that day")
    time_checks_asked: int = Field(default=0, description="the cloud's time checks asked in the day while the "
                                   "station was heard live (those asked while its agent was away are not counted)")
    time_checks_unanswered: int = Field(default=0, description="of those, how many no answer matched; a day with no "
                                        "answer at all and at least the rules' clock_unanswered_checks of them is "
                                        "flagged clock_unanswered")
    clock_behind_minutes: float | None = Field(default=None, description="how far behind the station's clock was "
                                               "found, at worst, on a day flagged clock_behind; null otherwise")
    clock_stepped_minutes: float | None = Field(default=None, description="how far the station's clock was stepped "
                                                "(set back or forward) within one boot, at worst, on a day flagged "
                                                "clock_stepped; null otherwise")
    notes: list[str]
    evidence: DayEvidence

    @property
    def scheduled_s(self) -> int:
        """Scheduled seconds; rows stored before `scheduled_seconds` give it to the minute."""
        return self.scheduled_minutes * 60 if self.scheduled_seconds is None else self.scheduled_seconds


def day_record(result: DayResult, timezone: str) -> DayRecord:
    """The day line with its evidence for display."""
    plan, tl, v = result.plan, result.timeline, result.visitors
    zone = ZoneInfo(timezone)
    sched = merge(plan.sessions)
    known_s = result.scheduled_s - result.unknown_s
    served_s = result.scheduled_s if result.verdict is Verdict.EXCUSED else result.open_s
    unconfirmed = hhmm(intersect(tl.open_unconfirmed, sched), zone)
    backlog = hhmm(intersect(result.backlog_lost, [(float(plan.start), float(plan.end))]), zone)
    return DayRecord(
        station=result.station,
        date=plan.day,
        working_day=plan.working,
        compliance=_share(result.compliance),
        verdict=result.verdict,
        person_times=v.person_times,
        elders=len(v.elders),
        elders_uncorroborated=len(v.uncorroborated),
        elders_unchecked=len(v.unchecked),
        anonymous_visitors=len(v.anonymous),
        known_share=_share(result.known_share),
        compliance_so_far=_share(result.compliance_so_far),
        verdict_so_far=result.verdict_so_far,
        calendar=plan.national.kind.value,
        holiday=plan.national.name,
        excused=plan.excused,
        open_share=_share(result.open_share),
        scheduled_minutes=_minutes(result.scheduled_s),
        open_minutes=_minutes(result.open_s),
        closed_minutes=_minutes(result.closed_s),
        unknown_minutes=_minutes(result.unknown_s),
        late_open_minutes=_minutes(result.late_open_s),
        early_close_minutes=_minutes(result.early_close_s),
        scheduled_seconds=round(result.scheduled_s),
        known_seconds=round(known_s),
        served_seconds=round(served_s),
        person_times_basis=v.person_times_basis,
        entries=v.entries,
        exits=v.exits,
        staff_visits=v.staff_visits,
        face_visits=v.face_visits,
        has_counter=v.has_counter,
        has_camera=v.has_camera,
        elder_ids=sorted(v.elders),
        uncorroborated_elder_ids=sorted(v.uncorroborated),
        unchecked_elder_ids=sorted(v.unchecked),
        anonymous_ids=sorted(v.anonymous),
        count_balance=result.count_balance,
        equipment_off=hhmm(result.equipment_off, zone),
        door_idle=hhmm(result.door_idle, zone),
        faces_unbacked=hhmm(result.faces_unbacked, zone),
        flags=list(result.flags),
        clock_faults=result.clock_faults,
        time_checks=result.time_checks,
        time_checks_asked=result.asked.live,
        time_checks_unanswered=result.asked.unanswered_n,
        clock_behind_minutes=(round(max(b.seconds for b in result.clock_behind) / 60, 1) if result.clock_behind
                              else None),
        clock_stepped_minutes=(round(max(abs(s.seconds) for s in result.clock_steps) / 60, 1)
                               if result.clock_steps else None),
        notes=[*result.notes, *([note(result.platform_lost, zone)] if result.platform_lost else []),
               *([backlog_note(backlog, zone)] if backlog else []),
               *([unconfirmed_note(unconfirmed, zone)] if unconfirmed else [])],
        platform_lost=describe(result.platform_lost, zone),
        backlog_lost=backlog,
        evidence=DayEvidence(
            sessions=hhmm(sched, zone),
            open=hhmm(intersect(tl.open, sched), zone),
            closed=hhmm(closed_spans(result), zone),
            unknown=hhmm(subtract(sched, tl.known), zone),
            door_open=hhmm(tl.door_open, zone),
            activity=hhmm(tl.activity, zone),
            offline_marks=tl.offline_marks,
            presence=hhmm(tl.presence, zone),
            open_unconfirmed=unconfirmed,
        ),
    )


class MonthRecord(BaseModel):
    """The `{"type": "month", ...}` line: elders served against the grade's threshold, and compliance."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: Literal["month"] = "month"
    station: str
    month: str = Field(description="YYYY-MM")
    elders: int = Field(description="distinct enrolled elders served (role `elder`, corroborated by a counter "
                        "crossing on at least one day); staff never count")
    elders_uncorroborated: int = Field(default=0, description="distinct enrolled elders seen this month but on no "
                                       "day corroborated by a counter crossing: not served")
    elders_unchecked: int = Field(default=0, description="distinct enrolled elders seen this month only while no "
                                  "counter reported")
    faces_uncorroborated_days: int = Field(default=0, description="days flagged faces_uncorroborated or "
                                           "faces_unchecked")
    anonymous_visitors: int = Field(default=0, description="distinct faces not enrolled (role `unknown`)")
    person_times: int
    threshold: int | None = Field(description="the grade's monthly figure; null for a kind with no grade")
    met: bool | None = Field(description="the threshold is met; null when it cannot be confirmed (no face data) or "
                             "does not apply (a kind with no grade)")
    met_reason: str | None = Field(default=None, description="why `met` is null")
    grade: str | None
    kind: str = Field(default="station", description="station (graded), care_centre or neighbourhood_point")
    basis: str = Field(description="`elders`, `elders+anonymous` (count_anonymous_visitors), or `unconfirmed`")
    basis_note: str | None
    figure: int | None = Field(description="the figure judged against the threshold; null when unconfirmed")
    complete: bool
    as_of: date
    first_day: str | None = Field(default=None, alias="from", description="the first day the month is seen from")
    progress: float | None
    projection: int | None
    at_risk: bool | None
    working_days: int
    working_days_elapsed: int
    compliance: float | None = Field(description="served share of the scheduled minutes; null when the month "
                                     "cannot be judged (see compliance_reason)")
    compliance_reason: str | None = None
    known_share: float | None = Field(default=None, description="known share of the scheduled minutes")
    scheduled_minutes: int = 0
    served_minutes: int | None = Field(
        default=None, description="scheduled minutes open (or excused by an approved closure), given even when "
                                  "`compliance` is null: a year's rate sums them over its months, unknown minutes "
                                  "never served; null in month lines derived before this field")
    verdicts: dict[str, int]
    late_open_minutes: int
    early_close_minutes: int
    unknown_minutes: int
    equipment_off_days: int = 0


class QuarterRecord(BaseModel):
    """The `{"type": "quarter", ...}` line."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["quarter"] = "quarter"
    station: str
    quarter: str
    compliance: float | None
    compliance_reason: str | None = None
    known_share: float | None = None
    verdicts: dict[str, int]
    person_times: int
    monthly_average: float | None = Field(description="monthly average of the judged figure, over the months with one")
    months_met: int | None = Field(description="months met; null when none had a threshold (a kind with no grade)")
    months_unconfirmed: int = 0
    months: int
