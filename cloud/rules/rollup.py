"""Month and quarter roll-ups of day records, with the monthly elders threshold by grade."""

from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from cloud.rules.config import RulesConfig


def _compliance(days: Sequence[dict[str, Any]]) -> float | None:
    known = sum(d["known_seconds"] for d in days if d["working_day"])
    served = sum(d["served_seconds"] for d in days if d["working_day"])
    return round(served / known, 4) if known else None


def month_record(
    station: str,
    month: str,
    grade: str,
    days: Sequence[dict[str, Any]],
    *,
    working_days_in_month: int,
    as_of: date,
    month_end: date,
    config: RulesConfig,
) -> dict[str, Any]:
    """The `{"type": "month", ...}` line. `days` are the month's day records up to `as_of` (inclusive).

    The threshold is judged on distinct elders when the station has a camera (faces seen this month); without
    one it can only be judged on person-times from the counter, and `basis` says so.
    """
    elders: set[str] = set()
    for d in days:
        elders.update(d["elder_ids"])
    person_times = sum(d["person_times"] for d in days)
    has_camera = any(d["has_camera"] for d in days)
    threshold = config.threshold(grade)
    figure = len(elders) if has_camera else person_times
    elapsed = sum(1 for d in days if d["working_day"])
    complete = as_of >= month_end
    projection = figure if complete or elapsed == 0 else round(figure * working_days_in_month / elapsed)
    met = figure >= threshold
    return {
        "type": "month",
        "station": station,
        "month": month,
        "elders": len(elders),
        "person_times": person_times,
        "threshold": threshold,
        "met": met,
        "grade": grade,
        "basis": "elders" if has_camera else "person_times",
        "basis_note": None if has_camera else "no faces seen this month (no camera): judged on person-times",
        "figure": figure,
        "complete": complete,
        "as_of": as_of.isoformat(),
        "progress": round(figure / threshold, 4) if threshold else None,
        "projection": projection,
        "at_risk": not met and projection < threshold,
        "working_days": working_days_in_month,
        "working_days_elapsed": elapsed,
        "compliance": _compliance(days),
        "verdicts": dict(sorted(Counter(d["verdict"] for d in days).items())),
        "late_open_minutes": sum(d["late_open_minutes"] for d in days),
        "early_close_minutes": sum(d["early_close_minutes"] for d in days),
        "unknown_minutes": sum(d["unknown_minutes"] for d in days if d["working_day"]),
    }


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_record(station: str, quarter: str, days: Sequence[dict[str, Any]],
                   months: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The `{"type": "quarter", ...}` roll-up: compliance over its days, monthly average of the judged figure."""
    return {
        "type": "quarter",
        "station": station,
        "quarter": quarter,
        "compliance": _compliance(days),
        "verdicts": dict(sorted(Counter(d["verdict"] for d in days).items())),
        "person_times": sum(m["person_times"] for m in months),
        "monthly_average": round(sum(m["figure"] for m in months) / len(months), 1) if months else None,
        "months_met": sum(1 for m in months if m["met"]),
        "months": len(months),
    }
