"""A day's result as the JSON object both `cloud derive` prints and the worker stores: one shape, one function."""

from typing import Any
from zoneinfo import ZoneInfo

from cloud.rules.day import DayResult, Verdict, closed_spans, hhmm
from cloud.rules.intervals import intersect, merge, subtract


def _minutes(seconds: float) -> int:
    return round(seconds / 60)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def day_record(result: DayResult, timezone: str) -> dict[str, Any]:
    """The `{"type": "day", ...}` line (issue 7) with its evidence for display."""
    plan, tl, v = result.plan, result.timeline, result.visitors
    zone = ZoneInfo(timezone)
    sched = merge(plan.sessions)
    known_s = result.scheduled_s - result.unknown_s
    served_s = known_s if result.verdict is Verdict.EXCUSED else result.open_s
    return {
        "type": "day",
        "station": result.station,
        "date": plan.day.isoformat(),
        "working_day": plan.working,
        "compliance": _share(result.compliance),
        "verdict": result.verdict.value,
        "person_times": v.person_times,
        "elders": len(v.elders),
        "calendar": plan.national.kind.value,
        "holiday": plan.national.name,
        "excused": plan.excused,
        "open_share": _share(result.open_share),
        "scheduled_minutes": _minutes(result.scheduled_s),
        "open_minutes": _minutes(result.open_s),
        "closed_minutes": _minutes(result.closed_s),
        "unknown_minutes": _minutes(result.unknown_s),
        "late_open_minutes": _minutes(result.late_open_s),
        "early_close_minutes": _minutes(result.early_close_s),
        "known_seconds": round(known_s),
        "served_seconds": round(served_s),
        "person_times_basis": v.person_times_basis,
        "entries": v.entries,
        "staff_visits": v.staff_visits,
        "face_visits": v.face_visits,
        "has_counter": v.has_counter,
        "has_camera": v.has_camera,
        "elder_ids": sorted(v.elders),
        "clock_faults": result.clock_faults,
        "notes": result.notes,
        "evidence": {
            "sessions": hhmm(sched, zone),
            "open": hhmm(intersect(tl.open, sched), zone),
            "closed": hhmm(closed_spans(result), zone),
            "unknown": hhmm(subtract(sched, tl.known), zone),
            "door_open": hhmm(tl.door_open, zone),
            "activity": hhmm(tl.activity, zone),
            "offline_marks": tl.offline_marks,
        },
    }
