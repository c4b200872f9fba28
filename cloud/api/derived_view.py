"""Read the worker's derived results for display: a station-day with its timeline, a station-month with its days."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from cloud.api.schemas import DayOut, DeviceHealth, MonthDay, MonthOut, Segment
from cloud.rules.records import DayRecord, MonthRecord
from cloud.store.derived import DayResult, MonthResult
from cloud.store.models import Device, Event, Station
from cloud.store.users import Activity

# Evidence spans as the rules print them: "08:30-11:30", or "08:31:05+40s" for spans under a minute.
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_SHORT = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\+(\d+)s$")


def state_so_far(record: DayRecord) -> str:
    """Today's state for a live view. The day's verdict is judged on the whole day's schedule, so in the morning
    the hours still to come make it `unknown`; the rules also judge the scheduled minutes so far, with the same
    shares, and that is today's state."""
    return (record.verdict_so_far or record.verdict).value


def today_states(session: Session, station_ids: Select[tuple[str]], day: date) -> dict[str, tuple[str, float | None]]:
    """Today's state so far and compliance so far for the stations in `station_ids` that have a derived result."""
    rows = session.execute(
        select(DayResult.station_id, DayResult.record).where(
            DayResult.local_date == day, DayResult.station_id.in_(station_ids)
        )
    ).tuples()
    out = {}
    for sid, stored in rows:
        record = DayRecord.model_validate(stored)
        share = record.compliance_so_far if record.compliance_so_far is not None else record.compliance
        out[sid] = (state_so_far(record), share)
    return out


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


def timeline(record: DayRecord, day: date, zone: ZoneInfo) -> list[Segment]:
    """Open, closed and unknown spans of the scheduled hours, in time order, each with the evidence behind it."""
    evidence = record.evidence
    segments = []
    for state, spans in (("open", evidence.open), ("closed", evidence.closed), ("unknown", evidence.unknown)):
        for text in spans:
            segment = _segment(text, state, day, zone)
            if segment is not None:
                segments.append(segment)
    for segment in segments:
        if segment.state == "open":
            segment.evidence.update(door_open=evidence.door_open, activity=evidence.activity,
                                    presence=evidence.presence)
        elif segment.state == "unknown":
            segment.evidence.update(equipment_off=record.equipment_off)
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


def day_out(session: Session, station: Station, day: date) -> DayOut | None:
    """The station-day: the stored day line, the timeline, device health and event counts; None if never derived."""
    row = session.get(DayResult, (station.id, day))
    if row is None:
        return None
    record = DayRecord.model_validate(row.record)
    return DayOut(
        **record.model_dump(),
        station_name=station.name,
        timeline=timeline(record, day, ZoneInfo(station.timezone)),
        devices=devices(session, station.id),
        counts=event_counts(session, station.id, day),
        derived_at=row.computed_at,
    )


def month_bounds(first: date) -> tuple[date, date]:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, following - timedelta(days=1)


def month_out(session: Session, station: Station, first: date) -> MonthOut | None:
    """The station-month: the stored month line, every derived day of it, and the themed activities recorded; None
    if never derived."""
    start, last = month_bounds(first)
    row = session.get(MonthResult, (station.id, f"{first:%Y-%m}"))
    if row is None:
        return None
    record = MonthRecord.model_validate(row.record)
    days = [DayRecord.model_validate(r) for r in session.execute(
        select(DayResult.record)
        .where(DayResult.station_id == station.id, DayResult.local_date.between(start, last))
        .order_by(DayResult.local_date)
    ).scalars()]
    activities = session.scalar(
        select(func.count()).where(Activity.station_id == station.id, Activity.day.between(start, last))
    )
    return MonthOut(
        **record.model_dump(),
        station_name=station.name,
        activities=int(activities or 0),
        days=[
            MonthDay(date=d.date, verdict=d.verdict.value, compliance=d.compliance, known_share=d.known_share,
                     unknown_minutes=d.unknown_minutes, person_times=d.person_times, elders=d.elders,
                     anonymous_visitors=d.anonymous_visitors, flags=d.flags)
            for d in days
        ],
    )
