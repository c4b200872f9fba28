"""Month and quarter roll-ups of day records, with the monthly elders threshold by grade."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from cloud.rules.config import RulesConfig
from cloud.rules.day import FLAG_EQUIPMENT_OFF, Verdict
from cloud.rules.records import DayRecord, MonthRecord, QuarterRecord
from cloud.rules.visitors import FLAG_FACES_UNCHECKED, FLAG_FACES_UNCORROBORATED
from firmware_config.kind import is_graded

FACE_FLAGS = {FLAG_FACES_UNCORROBORATED, FLAG_FACES_UNCHECKED}
NO_FACES = "no faces seen this month (no camera, or it was silent): distinct elders cannot be confirmed"
NOT_GRADED = "not graded: a care centre or neighbourhood point has no monthly threshold"


@dataclass(frozen=True, slots=True)
class Coverage:
    """Compliance over the scheduled minutes of a run of days, or None with the reason it cannot be judged."""

    compliance: float | None
    reason: str | None
    known_share: float | None
    scheduled_s: int
    served_s: int = 0  # given whatever the compliance: a year sums its months' (unknown time is never served)


def coverage(days: Sequence[DayRecord], config: RulesConfig, today: date | None = None) -> Coverage:
    """Served / scheduled seconds over the working days that are over. An approved closure owes nothing: its
    scheduled minutes count as known and served. Null compliance when a day's calendar is unknown (what was owed is
    not known), when nothing was scheduled, or when less than `month_min_known_share` of the scheduled minutes is
    known. `today` (the station's date now): a day before it is over whatever its record says; one derived while it
    ran and not since (a station silent from then on) counts its hours after that derivation as unknown."""
    unknown_calendar = sum(1 for d in days if d.working_day is None)
    scheduled = known = served = 0
    for d in days:
        running = d.verdict_so_far is not None and (today is None or d.date >= today)
        if not d.working_day or running:
            continue  # not a working day, or one still running: its hours to come are not unknown, just not yet
        scheduled += d.scheduled_s
        if d.verdict is Verdict.EXCUSED:
            known += d.scheduled_s
            served += d.scheduled_s
        else:
            known += d.known_seconds
            served += d.served_seconds
    share = round(known / scheduled, 4) if scheduled else None
    if unknown_calendar:
        return Coverage(None, f"the working calendar is unknown for {unknown_calendar} day(s)", share, scheduled,
                        served)
    if not scheduled:
        return Coverage(None, "no scheduled working hours", share, scheduled, served)
    if known < config.month_min_known_share * scheduled:
        return Coverage(None, f"only {known / scheduled:.0%} of the scheduled minutes are known (at least "
                        f"{config.month_min_known_share:.0%} needed)", share, scheduled, served)
    return Coverage(round(served / scheduled, 4), None, share, scheduled, served)


def month_record(
    station: str,
    month: str,
    grade: str | None,
    days: Sequence[DayRecord],
    *,
    working_days_in_month: int,
    as_of: date,
    month_end: date,
    config: RulesConfig,
    kind: str = "station",
    today: date | None = None,
) -> MonthRecord:
    """The month line. `days` are the month's day records up to `as_of` (inclusive); `today`: see `coverage`.

    The threshold is judged on distinct enrolled elders (plus anonymous visitors only when the rules say so). A
    station with no face data cannot have it confirmed: `met` is null with the reason; person-times are still given.
    A kind with no grade (care centre, neighbourhood point) has no threshold: `threshold`, `met`, the projection and
    `at_risk` are null (not applicable, never a failure), and the elders served and person-times are still given.
    """
    elders: set[str] = set()
    anonymous: set[str] = set()
    seen_not_served: set[str] = set()
    unchecked: set[str] = set()
    checked: set[str] = set()  # served on a day by a crossing, not only for want of a counter
    for d in days:
        elders.update(d.elder_ids)
        anonymous.update(d.anonymous_ids)
        seen_not_served.update(d.uncorroborated_elder_ids)
        unchecked.update(d.unchecked_elder_ids)
        checked.update(set(d.elder_ids) - set(d.unchecked_elder_ids))
    # Distinct over the month: an elder corroborated on any day is served, whatever the counter missed on another.
    seen_not_served -= elders
    unchecked -= checked
    person_times = sum(d.person_times for d in days)
    has_camera = any(d.has_camera for d in days)
    threshold = config.threshold(grade or "") if is_graded(kind) else None
    elapsed = sum(1 for d in days if d.working_day)
    complete = as_of >= month_end
    figure: int | None = None
    met: bool | None = None
    projection: int | None = None
    at_risk: bool | None = None
    if has_camera:
        figure = len(elders) + (len(anonymous) if config.count_anonymous_visitors else 0)
        basis = "elders+anonymous" if config.count_anonymous_visitors else "elders"
        if threshold is not None:
            met = figure >= threshold
            projection = figure if complete or elapsed == 0 else round(figure * working_days_in_month / elapsed)
            at_risk = not met and projection < threshold
    else:
        basis = "unconfirmed"
    met_reason: str | None = None
    if threshold is None:
        met_reason = NOT_GRADED
    elif not has_camera:
        met_reason = NO_FACES
    cov = coverage(days, config, today)
    return MonthRecord(
        station=station,
        month=month,
        elders=len(elders),
        elders_uncorroborated=len(seen_not_served),
        elders_unchecked=len(unchecked),
        faces_uncorroborated_days=sum(1 for d in days if FACE_FLAGS & set(d.flags)),
        anonymous_visitors=len(anonymous),
        person_times=person_times,
        threshold=threshold,
        met=met,
        met_reason=met_reason,
        grade=grade,
        kind=kind,
        basis=basis,
        basis_note=None if has_camera else f"{NO_FACES}; person-times are reported but do not meet a threshold",
        figure=figure,
        complete=complete,
        as_of=as_of,
        progress=round(figure / threshold, 4) if figure is not None and threshold else None,
        projection=projection,
        at_risk=at_risk,
        working_days=working_days_in_month,
        working_days_elapsed=elapsed,
        compliance=cov.compliance,
        compliance_reason=cov.reason,
        known_share=cov.known_share,
        scheduled_minutes=round(cov.scheduled_s / 60),
        served_minutes=round(cov.served_s / 60),
        verdicts=dict(sorted(Counter(d.verdict.value for d in days).items())),
        late_open_minutes=sum(d.late_open_minutes for d in days),
        early_close_minutes=sum(d.early_close_minutes for d in days),
        unknown_minutes=sum(d.unknown_minutes for d in days if d.working_day),
        equipment_off_days=sum(1 for d in days if FLAG_EQUIPMENT_OFF in d.flags),
    )


def year_compliance(months: Sequence[MonthRecord], min_known_share: float) -> float | None:
    """A run of months' compliance: their served minutes over their scheduled minutes, as `coverage` judges a month,
    so that a month made unknown (the agent unplugged on most of its days) cannot drop out of the figure as it drops
    out of an average of the months' rates: its unknown minutes are never served. Null when nothing was scheduled or
    less than `min_known_share` of the scheduled minutes is known. A month line derived before `served_minutes`
    existed counts what its own rate gives, and nothing served when it had none."""
    scheduled = sum(m.scheduled_minutes for m in months)
    if not scheduled:
        return None
    known = sum((m.known_share or 0.0) * m.scheduled_minutes for m in months)
    if known < min_known_share * scheduled:
        return None
    served = sum(m.served_minutes if m.served_minutes is not None
                 else (m.compliance or 0.0) * m.scheduled_minutes for m in months)
    return round(served / scheduled, 4)


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_record(station: str, quarter: str, days: Sequence[DayRecord], months: Sequence[MonthRecord],
                   config: RulesConfig) -> QuarterRecord:
    """The quarter roll-up: compliance over its days' scheduled minutes, monthly average of the judged figure."""
    cov = coverage(days, config)
    figures = [m.figure for m in months if m.figure is not None]
    return QuarterRecord(
        station=station,
        quarter=quarter,
        compliance=cov.compliance,
        compliance_reason=cov.reason,
        known_share=cov.known_share,
        verdicts=dict(sorted(Counter(d.verdict.value for d in days).items())),
        person_times=sum(m.person_times for m in months),
        monthly_average=round(sum(figures) / len(figures), 1) if figures else None,
        # Null when no month of it had a threshold (a care centre's or neighbourhood point's): not 0 months met.
        months_met=sum(1 for m in months if m.met) if any(m.threshold is not None for m in months) or not months
        else None,
        months_unconfirmed=sum(1 for m in months if m.met is None and m.threshold is not None),
        months=len(months),
    )
