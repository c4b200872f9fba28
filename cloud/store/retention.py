"""How long the store keeps what: raw events, dead letters and the person ids in face events.

The Personal Information Protection Law (个人信息保护法, art. 19) asks that personal information be kept no longer
than its purpose needs. A face event's person id (an enrolled elder's id, or a monthly anonymous id) is personal
information; it is needed to count distinct elders in the month, which the worker does within minutes. So:

- person ids in face events are blanked `person_days` after the event (default 31; an event whose clock was faulty
  ages from its receipt), once its station-day has been derived (a day still marked dirty keeps them until then);
  role and time stay, so the day's person-times and the camera's evidence are unchanged. Dead letters of face topics
  lose their payload bytes at the same age (their size, hash and reason stay);
- the time checks the cloud sent (`time_checks_asked`) go with the events, by when they were asked: they are
  evidence of the same days;
- dead letters are deleted after `dead_letters_days` (default 90);
- raw events are deleted after `events_days` (default 400: a year's assessment plus its appeal window; a
  clock-faulted event, too, by its receipt);
- derived results (day, month, spot-check and veto rows, alerts) are kept: they are the bureau's record, and a day
  result keeps the distinct ids behind its elder count (pseudonyms: the cloud holds nothing that links them to a
  person).

The worker runs `purge` periodically with its injected clock (`Purger`). Telemetry written to InfluxDB is outside the
store: its bucket's own retention (docs/face.md) must be set to the same `person_days`.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, and_, bindparam, delete, func, or_, select, update

from cloud.store.models import DeadLetter, DirtyStationDay, Event, Station
from cloud.store.time_checks import TimeCheckAsked

log = logging.getLogger(__name__)

EVENTS = cast(Table, Event.__table__)
LETTERS = cast(Table, DeadLetter.__table__)
DIRTY = cast(Table, DirtyStationDay.__table__)
STATIONS = cast(Table, Station.__table__)
ASKED = cast(Table, TimeCheckAsked.__table__)
# No real person id is empty (the protocol requires 1 to 64 characters): the mark of a blanked one.
PURGED_PERSON = ""


@dataclass(frozen=True, slots=True)
class Retention:
    """Retention periods in days (settings `ELDERCARE_RETENTION_*_DAYS`)."""

    events_days: int = 400
    dead_letters_days: int = 90
    person_days: int = 31

    def __post_init__(self) -> None:
        for name in ("events_days", "dead_letters_days", "person_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"retention {name} must be at least 1 day")


@dataclass(slots=True)
class PurgeReport:
    """What one purge removed."""

    events: int = 0
    dead_letters: int = 0
    persons: int = 0
    face_letters: int = 0
    time_checks: int = 0

    def __bool__(self) -> bool:
        return bool(self.events or self.dead_letters or self.persons or self.face_letters or self.time_checks)


def first_kept_day(now: datetime, events_days: int, timezone: str) -> date:
    """The first local day whose raw events are all still kept at `now`: the day after the one the retention cut-off
    falls in, where the station is (at 01:00 in Shanghai the cut-off's UTC date is a day behind its local one). Days
    before it are final: re-deriving them from what the purge left would overwrite their results with less."""
    return (now - timedelta(days=events_days)).astimezone(ZoneInfo(timezone)).date() + timedelta(days=1)


def _drop_final_marks(connection: Connection, now: datetime, events_days: int) -> None:
    """Delete the dirty marks of days that are final in their station's zone (a late replay must not re-derive them
    from what little is left)."""
    zones = connection.execute(select(STATIONS.c.timezone).distinct()).scalars().all()
    for zone in zones:
        connection.execute(delete(DIRTY).where(
            DIRTY.c.station_id.in_(select(STATIONS.c.id).where(STATIONS.c.timezone == zone)),
            DIRTY.c.local_date < first_kept_day(now, events_days, zone)))


def _scrubbing(connection: Connection) -> Connection:
    # SQLite leaves a deleted or rewritten row's old bytes in free space unless told to zero them.
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA secure_delete=ON")
    return connection


def _person() -> Any:
    return EVENTS.c.payload["person"].as_string()


def _awaiting_derivation() -> Any:
    # A day still marked dirty has not been derived with its person ids yet (a late replay, or another worker's
    # partition): its ids stay until the worker has counted them; the next purge blanks them.
    return select(DIRTY.c.station_id).where(DIRTY.c.station_id == EVENTS.c.station_id,
                                            DIRTY.c.local_date == EVENTS.c.local_date).exists()


def _older_than(before: datetime) -> Any:
    # A clock-faulted event's ts is not believable (1970 after a reset, or years ahead): its age is its receipt's.
    c = EVENTS.c
    return or_(and_(c.clock_fault.is_(None), c.ts < before), and_(c.clock_fault.is_not(None), c.received_at < before))


def _blank_persons(engine: Engine, before: datetime, chunk: int) -> int:
    """Blank the person id of every face event older than `before`, in transactions of `chunk` rows."""
    due = (select(EVENTS.c.id, EVENTS.c.ts, EVENTS.c.payload)
           .where(EVENTS.c.kind == "face", _older_than(before), _person() != PURGED_PERSON, ~_awaiting_derivation())
           .limit(chunk))
    blank = (update(EVENTS).where(and_(EVENTS.c.id == bindparam("key_id"), EVENTS.c.ts == bindparam("key_ts")))
             .values(payload=bindparam("blanked")))
    total = 0
    while True:
        with engine.begin() as connection:
            rows = _scrubbing(connection).execute(due).all()
            if not rows:
                return total
            connection.execute(blank, [{"key_id": r.id, "key_ts": r.ts,
                                        "blanked": {**r.payload, "person": PURGED_PERSON}} for r in rows])
        total += len(rows)


def purge(engine: Engine, retention: Retention, now: datetime, chunk: int = 1000) -> PurgeReport:
    """Remove what `retention` says is due at `now`; idempotent, safe to run from several workers."""
    report = PurgeReport()
    events_before = now - timedelta(days=retention.events_days)
    letters_before = now - timedelta(days=retention.dead_letters_days)
    persons_before = now - timedelta(days=retention.person_days)
    with engine.begin() as connection:  # what goes entirely first: nothing to blank in what is deleted
        _scrubbing(connection)
        report.events = connection.execute(delete(EVENTS).where(_older_than(events_before))).rowcount
        _drop_final_marks(connection, now, retention.events_days)
        report.time_checks = connection.execute(delete(ASKED).where(ASKED.c.asked_at < events_before)).rowcount
        report.dead_letters = connection.execute(delete(LETTERS).where(LETTERS.c.received_at < letters_before)).rowcount
        report.face_letters = connection.execute(
            update(LETTERS).where(LETTERS.c.received_at < persons_before, LETTERS.c.topic.like("%/face"),
                                  func.length(LETTERS.c.payload) > 0)
            .values(payload=b"")).rowcount
    report.persons = _blank_persons(engine, persons_before, chunk)
    if report and engine.dialect.name == "sqlite":
        # The write-ahead log still holds the pages as they were: fold it into the database and empty it.
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    if report:
        log.info("retention purge: %d events deleted, %d dead letters deleted, %d person ids blanked, "
                 "%d face dead letters emptied, %d time checks deleted", report.events, report.dead_letters,
                 report.persons, report.face_letters, report.time_checks)
    return report


class Purger:
    """Runs `purge` at most once per `every`, by the clock the caller passes (the worker's injected `now`)."""

    def __init__(self, engine: Engine, retention: Retention, every: timedelta = timedelta(hours=1)) -> None:
        self.engine = engine
        self.retention = retention
        self.every = every
        self.last: datetime | None = None

    def __call__(self, now: datetime) -> PurgeReport | None:
        if self.last is not None and now - self.last < self.every:
            return None
        report = purge(self.engine, self.retention, now)
        self.last = now
        return report
