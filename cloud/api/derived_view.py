"""Read the worker's derived results for display: a station-day with its timeline, a station-month with its days."""

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cloud.api.schemas import DayOut, DeviceHealth, MonthDay, MonthOut, Segment
from cloud.rules.config import RulesConfig
from cloud.store.derived import DayResult, MonthResult
from cloud.store.models import Device, Event, Station
from cloud.store.users import Activity

# Evidence spans as the rules print them: "08:30-11:30", or "08:31:05+40s" for spans under a minute.
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_SHORT = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\+(\d+)s$")


def state_so_far(verdict: str, compliance: float | None, rules: RulesConfig) -> str:
    """Today's state for a live view. The day's verdict is judged on the whole day's schedule, so in the morning
    the hours still to come make it `unknown`; what is known so far is judged with the same shares instead."""
    if verdict != "unknown" or compliance is None:
        return verdict
    if compliance >= rules.open_share:
        return "open"
    return "closed" if compliance <= rules.closed_share else "partial"


def today_states(session: Session, station_ids: Select[tuple[str]], day: date,
                 rules: RulesConfig) -> dict[str, tuple[str, float | None]]:
    """Today's state so far and compliance for the stations in `station_ids` that have a derived result."""
    rows = session.execute(
        select(DayResult.station_id, DayResult.verdict, DayResult.compliance).where(
            DayResult.local_date == day, DayResult.station_id.in_(station_ids)
        )
    ).tuples()
    return {sid: (state_so_far(verdict, compliance, rules), compliance) for sid, verdict, compliance in rows}


def _segment(text: str, state: str, day: date, zone: ZoneInfo) -> Segment | None:
    if match := _SPAN.fullmatch(text):
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start = datetime(day.year, day.month, day.day, h1, m1, tzinfo=zone)
        # "24:00" cannot be printed; a span ending at midnight prints "00:00".
        end = datetime(day.year, day.month, day.day, h2, m2, tzinfo=zone) if (h2, m2) != (0, 0) else (
            datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(days=1)
        )
        return Segment(start=start, end=end, state=state, evidence={"span": text})
    if match := _SHORT.fullmatch(text):
        h, m, s, length = (int(g) for g in match.groups())
        start = datetime(day.year, day.month, day.day, h, m, s, tzinfo=zone)
        return Segment(start=start, end=start + timedelta(seconds=length), state=state,
                       evidence={"span": text})
    return None


def timeline(record: dict[str, Any], day: date, zone: ZoneInfo) -> list[Segment]:
    """Open, closed and unknown spans of the scheduled hours, in time order, each with the evidence behind it."""
    evidence = record.get("evidence") or {}
    segments = []
    for state in ("open", "closed", "unknown"):
        for text in evidence.get(state) or []:
            segment = _segment(str(text), state, day, zone)
            if segment is not None:
                segments.append(segment)
    door = evidence.get("door_open") or []
    activity = evidence.get("activity") or []
    for segment in segments:
        if segment.state == "open":
            segment.evidence.update(door_open=door, activity=activity)
    return sorted(segments, key=lambda s: s.start)


def devices(session: Session, station_id: str) -> list[DeviceHealth]:
    rows = session.scalars(select(Device).where(Device.station_id == station_id).order_by(Device.device_id))
    return [
        DeviceHealth(
            device=d.device_id,
            kind=d.kind,
            last_seen_at=d.last_seen_at,
            ok=d.last_health_ok,
            error=(d.last_health or {}).get("error"),
            online=d.online,
        )
        for d in rows
    ]


def event_counts(session: Session, station_id: str, day: date) -> dict[str, int]:
    rows = session.execute(
        select(Event.kind, func.count())
        .where(Event.station_id == station_id, Event.local_date == day)
        .group_by(Event.kind)
    ).tuples()
    return {kind: int(n) for kind, n in rows}


def day_out(session: Session, station: Station, day: date) -> DayOut:
    """The station-day: the stored day line (all its fields), the timeline, device health and event counts."""
    row = session.get(DayResult, (station.id, day))
    record: dict[str, Any] = dict(row.record) if row is not None else {}
    base = {
        "station": station.id,
        "date": day,
        "working_day": record.get("working_day"),
        "compliance": record.get("compliance"),
        "verdict": record.get("verdict", "no_data"),
        "person_times": record.get("person_times"),
        "elders": record.get("elders"),
    }
    extra = {k: v for k, v in record.items() if k not in base and k != "type"}
    extra["station_name"] = station.name
    return DayOut(
        **base,
        **extra,
        timeline=timeline(record, day, ZoneInfo(station.timezone)),
        devices=devices(session, station.id),
        counts=event_counts(session, station.id, day),
        derived_at=row.computed_at if row is not None else None,
    )


def month_bounds(first: date) -> tuple[date, date]:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def month_out(session: Session, station: Station, first: date, *, as_of: date) -> MonthOut:
    """The station-month: the stored month line, every derived day of it, and the themed activities recorded."""
    start, last = month_bounds(first)
    month = f"{first:%Y-%m}"
    row = session.get(MonthResult, (station.id, month))
    record: dict[str, Any] = dict(row.record) if row is not None else {}
    days = session.execute(
        select(DayResult.local_date, DayResult.verdict, DayResult.compliance, DayResult.person_times,
               DayResult.elders)
        .where(DayResult.station_id == station.id, DayResult.local_date.between(start, last))
        .order_by(DayResult.local_date)
    ).tuples()
    activities = session.scalar(
        select(func.count()).where(Activity.station_id == station.id, Activity.day.between(start, last))
    )
    base = {
        "station": station.id,
        "month": month,
        "elders": record.get("elders"),
        "person_times": record.get("person_times"),
        "threshold": record.get("threshold"),
        "met": record.get("met"),
        "projection": record.get("projection"),
        "at_risk": record.get("at_risk"),
    }
    extra = {k: v for k, v in record.items() if k not in base and k != "type"}
    extra.update(station_name=station.name, grade=station.grade, as_of=extra.get("as_of", as_of.isoformat()))
    return MonthOut(
        **base,
        **extra,
        activities=int(activities or 0),
        days=[
            MonthDay(date=d, verdict=v, compliance=c, person_times=p, elders=e)
            for d, v, c, p, e in days
        ],
    )
