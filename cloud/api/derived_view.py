"""Read the worker's derived results for display: a station-day with its timeline, a station-month with its days."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from cloud.api.schemas import DayOut, DeviceHealth, MonthDay, MonthOut, Segment
from cloud.derive.calendar_store import load_calendar
from cloud.rules.agent import agent_online
from cloud.rules.calendar import DayPlan, plan_day
from cloud.rules.day import Verdict
from cloud.rules.records import DayRecord, MonthRecord
from cloud.store.derived import DayResult, MonthResult
from cloud.store.models import Device, Event, Station, StationException
from cloud.store.users import Activity
from firmware_config.schedule import Schedule

# Evidence spans as the rules print them: "08:30-11:30", or "08:31:05+40s" for spans under a minute.
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_SHORT = re.compile(r"^(\d{2}):(\d{2}):(\d{2})\+(\d+)s$")


class DayState(Protocol):
    """What a live view needs of a stored day: a whole `DayRecord`, or `StoredState`, these fields alone."""

    @property
    def verdict(self) -> Verdict: ...
    @property
    def verdict_so_far(self) -> Verdict | None: ...


@dataclass(frozen=True)
class StoredState:
    """A stored day's verdicts and shares, read out of its record by the database. A fleet's live view needs only
    these: validating a thousand whole records, each with its day's evidence, took most of the overview's time."""

    verdict: Verdict
    verdict_so_far: Verdict | None
    compliance: float | None
    compliance_so_far: float | None


def state_so_far(record: DayState) -> str:
    """Today's state for a live view. The day's verdict is judged on the whole day's schedule, so in the morning
    the hours still to come make it `unknown`; the rules also judge the scheduled minutes so far, with the same
    shares, and that is today's state."""
    return (record.verdict_so_far or record.verdict).value


def state_at(plan: DayPlan, record: DayState | None, now: datetime) -> str:
    """A station's state today at `now`. Before its first working session begins nothing can be judged yet: the
    station is `not_started`, not offline (the derived day counts hours still to come as unknown). `record` is None
    when nothing was derived for the day yet."""
    if record is not None and record.verdict.value in ("excused", "not_scheduled"):
        return record.verdict.value
    if plan.excused is not None and plan.working:
        return "excused"
    if plan.working is False or (plan.working and not plan.sessions):
        return "not_scheduled"
    if plan.sessions and now.timestamp() < min(start for start, _ in plan.sessions):
        return "not_started"
    if record is None:
        return "no_data"
    return state_so_far(record)


class Scheduled(Protocol):
    """What planning a station's day needs: a Station, or a row of just these columns (cheaper for a fleet)."""

    @property
    def id(self) -> str: ...
    @property
    def weekdays(self) -> str: ...
    @property
    def hours(self) -> str: ...
    @property
    def open_on_holidays(self) -> bool: ...
    @property
    def timezone(self) -> str: ...


SCHEDULE_COLUMNS = (Station.id, Station.weekdays, Station.hours, Station.open_on_holidays, Station.timezone)


def _among(column: InstrumentedAttribute[str], ids: Sequence[str],
           visible: ColumnElement[bool] | None) -> ColumnElement[bool]:
    """`column` is one of these stations: by the scope's own condition when given (a fleet's ids would be a thousand
    bound parameters), else by the list."""
    if visible is not None:
        return column.in_(select(Station.id).where(visible))
    return column.in_(list(ids))


def today_plans(session: Session, stations: Sequence[Scheduled], now: datetime,
                visible: ColumnElement[bool] | None = None) -> dict[str, DayPlan]:
    """Each station's plan for its own today at `now`, with an approved closure of that day, by the calendar in force
    (the worker's). `visible`, when given, is the condition that selected `stations`. The station's current hours are
    the version in force today: a registry change applies from its own day, never a later one."""
    calendar = load_calendar(session)
    zones = {tz: now.astimezone(ZoneInfo(tz)).date() for tz in {s.timezone for s in stations}}
    todays = {s.id: zones[s.timezone] for s in stations}
    closures: dict[str, dict[date, str]] = {}
    if todays:
        rows = session.execute(select(StationException.station_id, StationException.date, StationException.reason)
                               .where(_among(StationException.station_id, list(todays), visible),
                                      StationException.date.in_(set(zones.values())))).tuples()
        for sid, day, reason in rows:
            closures.setdefault(sid, {})[day] = reason
    # Stations share a handful of schedules: plan each schedule once (a fleet's overview asks for all of them).
    plans: dict[tuple[str, str, bool, str, date], DayPlan] = {}
    out = {}
    for s in stations:
        key = (s.weekdays, s.hours, s.open_on_holidays, s.timezone, todays[s.id])
        if key not in plans:
            schedule = Schedule(weekdays=s.weekdays, hours=s.hours,  # parsed by the model
                                open_on_holidays=s.open_on_holidays, timezone=s.timezone)
            plans[key] = plan_day(schedule, todays[s.id], calendar=calendar)
        closed = closures.get(s.id, {}).get(todays[s.id])
        out[s.id] = plans[key] if closed is None else replace(plans[key], excused=closed)
    return out


def today_states(session: Session, stations: Sequence[Scheduled], now: datetime,
                 visible: ColumnElement[bool] | None = None) -> dict[str, tuple[str, float | None]]:
    """Today's state at `now` (see `state_at`) and compliance so far, for every station in `stations` (selected
    by `visible`, when given)."""
    plans = today_plans(session, stations, now, visible)
    days = {p.day for p in plans.values()}
    among = _among(DayResult.station_id, list(plans), visible)
    records: dict[str, StoredState] = {}
    if days:
        field = DayResult.record
        found = session.execute(select(DayResult.station_id, DayResult.local_date, field["verdict"].as_string(),
                                       field["verdict_so_far"].as_string(), field["compliance"].as_float(),
                                       field["compliance_so_far"].as_float())
                                .where(among, DayResult.local_date.in_(days))).tuples()
        records = {sid: StoredState(Verdict(verdict), None if so_far is None else Verdict(so_far), share,
                                    share_so_far)
                   for sid, day, verdict, so_far, share, share_so_far in found
                   if sid in plans and plans[sid].day == day}
    out = {}
    for sid, plan in plans.items():
        record = records.get(sid)
        share = None if record is None else (
            record.compliance_so_far if record.compliance_so_far is not None else record.compliance)
        out[sid] = (state_at(plan, record, now), share)
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


def timeline(record: DayRecord, day: date, zone: ZoneInfo, now: datetime | None = None) -> list[Segment]:
    """Open, closed and unknown spans of the scheduled hours, in time order, each with the evidence behind it.
    With `now` (today), the scheduled time after it is `upcoming`: it has not happened, so it is neither unknown
    nor judged."""
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
    segments.sort(key=lambda s: s.start)
    if now is None:
        return segments
    joined: list[Segment] = []
    for part in (part for segment in segments for part in _split_at(segment, now)):
        if joined and part.state == joined[-1].state == "upcoming" and joined[-1].end == part.start:
            joined[-1] = joined[-1].model_copy(update={"end": part.end})
        else:
            joined.append(part)
    return joined


def _split_at(segment: Segment, now: datetime) -> list[Segment]:
    now = now.astimezone(segment.start.tzinfo)  # the split keeps the station's offset in what it prints
    # Whatever the rules inferred past now (a reading covers the minutes after it) has not happened yet.
    if segment.end <= now:
        return [segment]
    if segment.start >= now:
        return [segment.model_copy(update={"state": "upcoming"})]
    return [segment.model_copy(update={"end": now}), segment.model_copy(update={"start": now, "state": "upcoming"})]


def spans_text(segments: Sequence[Segment], state: str, zone: ZoneInfo) -> list[str]:
    """The `state` segments as local `HH:MM-HH:MM`, the way the day's evidence prints spans."""
    return [f"{s.start.astimezone(zone):%H:%M}-{s.end.astimezone(zone):%H:%M}" for s in segments if s.state == state]


def devices(session: Session, station_id: str, now: datetime, liveness: timedelta) -> list[DeviceHealth]:
    rows = session.scalars(select(Device).where(Device.station_id == station_id).order_by(Device.device_id))
    return [
        DeviceHealth(
            device=d.device_id,
            kind=d.kind,
            last_seen_at=d.last_seen_at,
            ok=d.last_health_ok,
            error=(d.last_health or {}).get("error"),
            online=agent_online(d.last_seen_at, d.online, d.last_health_at, now, liveness) if d.kind == "agent"
            else None,
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


def day_out(session: Session, station: Station, day: date, clock: datetime, liveness: timedelta,
            now: datetime | None = None) -> DayOut | None:
    """The station-day: the stored day line, the timeline, device health (as at `clock`, an agent online if heard
    within `liveness`) and event counts; None if never derived. `now` is given for today: the timeline then marks the
    hours still to come as upcoming."""
    row = session.get(DayResult, (station.id, day))
    if row is None:
        return None
    record = DayRecord.model_validate(row.record)
    zone = ZoneInfo(station.timezone)
    segments = timeline(record, day, zone, now)
    extra: dict[str, Any] = {}
    if now is not None:
        extra.update(as_of=now.astimezone(zone), unknown_so_far=spans_text(segments, "unknown", zone),
                     upcoming=spans_text(segments, "upcoming", zone))
    return DayOut(
        **record.model_dump(),
        station_name=station.name,
        timeline=segments,
        timezone=station.timezone,
        **extra,
        devices=devices(session, station.id, clock, liveness),
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
                     elders_uncorroborated=d.elders_uncorroborated, anonymous_visitors=d.anonymous_visitors,
                     flags=d.flags)
            for d in days
        ],
    )


# A day "holds data" when something was seen: a judged opening state, or visitors. A day not started yet, or one
# the worker filled in for a silent station, does not.
_HELD = ("open", "closed", "partial")


def latest_data_day(session: Session, visible: ColumnElement[bool], upto: date,
                    since: date | None = None) -> date | None:
    """The latest date up to `upto` (and from `since`) on which a station matching `visible` holds data."""
    held = or_(DayResult.verdict.in_(_HELD), DayResult.person_times > 0)
    query = (select(func.max(DayResult.local_date)).join(Station, Station.id == DayResult.station_id)
             .where(visible, DayResult.local_date <= upto, held))
    if since is not None:
        query = query.where(DayResult.local_date >= since)
    found: date | None = session.scalar(query)
    return found
