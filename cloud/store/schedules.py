"""The history of each station's working hours and grade: one row per version, from the local date it applies.

`stations` keeps the current values (what the registry page shows). A version is made on the day of the change and
never starts later, so the current row is always the version in force today; this table keeps the earlier ones, and
the derivation judges each day by the version in force on it (`station_history`). A change never rewrites an earlier
day's version: a second change on the same day replaces that day's. Written only by the registry's writer
(`cloud.registry.store`), through `record_version`.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, CheckConstraint, CursorResult, Date, ForeignKey, String, Table, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from cloud.rules.schedules import ScheduleHistory, ScheduleVersion
from cloud.store.models import KIND_GRADE, Base, Station, UTCDateTime, utcnow
from firmware_config.grade import GRADES
from firmware_config.kind import KINDS
from firmware_config.schedule import Schedule

# Where the first version of a station that predates the history starts: before any day a store can hold.
BACKFILL_FROM = date(1970, 1, 1)
VERSIONED = ("weekdays", "hours", "open_on_holidays", "grade", "kind")


class StationSchedule(Base):
    """A station's weekdays, hours, holiday rule, grade and kind from `effective_from` (its local date) until the
    next."""

    __tablename__ = "station_schedules"
    __table_args__ = (CheckConstraint(f"grade IN ({', '.join(repr(g) for g in GRADES)})", name="grade"),
                      CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})", name="kind"),
                      CheckConstraint(KIND_GRADE, name="kind_grade"))

    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date, primary_key=True)
    weekdays: Mapped[str] = mapped_column(String(32))
    hours: Mapped[str] = mapped_column(String(200))
    open_on_holidays: Mapped[bool] = mapped_column(Boolean)
    grade: Mapped[str | None] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(24), default="station", server_default="station")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, doc="when this version was written")


def station_history(session: Session, station: Station) -> ScheduleHistory:
    """Every version of the station's schedule and grade, in the station's zone. A station with none recorded (rows
    written outside the registry) has one: its current values."""
    return station_histories(session, [station])[station.id]


def station_histories(session: Session, stations: Sequence[Station]) -> dict[str, ScheduleHistory]:
    """`station_history` of each station, in one query whatever their number."""
    found: dict[str, list[ScheduleVersion]] = {s.id: [] for s in stations}
    zones = {s.id: s.timezone for s in stations}
    if found:
        for row in session.scalars(select(StationSchedule).where(StationSchedule.station_id.in_(list(found)))):
            schedule = Schedule(weekdays=row.weekdays, hours=row.hours,  # parsed by the model's validator
                                open_on_holidays=row.open_on_holidays, timezone=zones[row.station_id])
            found[row.station_id].append(ScheduleVersion(row.effective_from, schedule, row.grade, row.kind))
    return {s.id: ScheduleHistory(tuple(found[s.id])) if found[s.id] else
            ScheduleHistory.single(s.schedule(), s.grade, s.kind) for s in stations}


def local_day(station: Station, now: datetime) -> date:
    """`now`'s date in the station's zone: the day a change made at `now` applies from."""
    return now.astimezone(ZoneInfo(station.timezone)).date()


def _normal(values: dict[str, object]) -> tuple[object, ...]:
    """The versioned values by meaning: weekdays `1-5` and `1,2,3,4,5` are the same schedule."""
    schedule = Schedule.model_validate({"weekdays": values["weekdays"], "hours": values["hours"],
                                        "open_on_holidays": values["open_on_holidays"]})
    return (schedule.weekdays_text(), schedule.hours_text(), schedule.open_on_holidays, values["grade"],
            values.get("kind") or "station")


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def record_version(session: Session, station: Station, before: dict[str, object] | None, now: datetime) -> bool:
    """Keep the station's current schedule and grade as the version from today (its zone) on. `before`: its values
    before this change (None for a new station), kept as the version before today when the station has none yet.
    Returns True when the version in force from today changed. The caller flushes and commits.

    Two edits of the same station on the same day may run at once: today's version is written by one statement that
    does not depend on what was read (an upsert, or a delete when the change goes back to the earlier version), so
    the second one to commit wins, as a second edit made after the first would, instead of colliding on the key."""
    today = local_day(station, now)
    values = {key: getattr(station, key) for key in VERSIONED}
    new = _normal(values)
    columns = [getattr(StationSchedule, key) for key in VERSIONED]
    rows = {day: _normal(dict(zip(VERSIONED, rest, strict=True))) for day, *rest in session.execute(
        select(StationSchedule.effective_from, *columns).where(StationSchedule.station_id == station.id))}
    table = cast(Table, StationSchedule.__table__)
    if not rows and before is not None:
        old = {key: before[key] for key in VERSIONED}
        if _normal(old) == new:
            return False
        session.execute(_insert(session)(table).values(station_id=station.id, effective_from=BACKFILL_FROM,
                                                       recorded_at=now, **old)
                        .on_conflict_do_nothing(index_elements=[table.c.station_id, table.c.effective_from]))
        rows[BACKFILL_FROM] = _normal(old)
    earlier = [day for day in rows if day < today]
    if earlier and rows[max(earlier)] == new:
        # Changed back the same day (or not changed): today is judged as before, no version of its own.
        gone = session.execute(delete(StationSchedule).where(StationSchedule.station_id == station.id,
                                                             StationSchedule.effective_from == today))
        return bool(cast(CursorResult[Any], gone).rowcount)
    if rows.get(today) == new:
        return False
    statement = _insert(session)(table).values(station_id=station.id, effective_from=today, recorded_at=now, **values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.station_id, table.c.effective_from],
        set_={key: statement.excluded[key] for key in (*VERSIONED, "recorded_at")}))
    return True
