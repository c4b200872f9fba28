"""Write station records into the registry: insert new ones, update changed ones, never duplicate. The one writer of
`stations`: a changed schedule, grade or kind is also kept as a version from the day of the change (in the station's
zone), so days before it are still judged by the hours, grade and kind in force on them."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cloud.registry.csv_rows import StationRecord
from cloud.store.admin import AuditEntry
from cloud.store.db import make_session_factory
from cloud.store.models import Station, utcnow
from cloud.store.schedules import record_version


@dataclass(frozen=True, slots=True)
class ImportCounts:
    added: int
    updated: int
    unchanged: int


def _values(record: StationRecord) -> dict[str, object]:
    schedule = record.schedule
    return {
        "name": record.name, "town": record.town, "kind": record.kind, "grade": record.grade, "address": record.address,
        "weekdays": schedule.weekdays_text(), "hours": schedule.hours_text(),
        "open_on_holidays": schedule.open_on_holidays, "timezone": schedule.timezone,
    }


@dataclass(frozen=True, slots=True)
class Change:
    """One station added or updated: its values before (None when added) and after."""

    station: str
    before: dict[str, Any] | None
    after: dict[str, Any]


def upsert_records(session: Session, records: list[StationRecord],
                   now: datetime | None = None) -> tuple[ImportCounts, list[Change]]:
    """Insert or update every record in the caller's transaction; returns the counts and what changed. A new or
    changed schedule or grade applies from `now`'s date (default: the current time) in the station's zone."""
    now = now or utcnow()
    added = updated = unchanged = 0
    changes: list[Change] = []
    for record in records:
        values = _values(record)
        station = session.get(Station, record.id)
        if station is None:
            station = Station(id=record.id, **values, created_at=now, updated_at=now)
            session.add(station)
            session.flush()  # the version below refers to it
            record_version(session, station, None, now)
            added += 1
            changes.append(Change(record.id, None, values))
        elif any(getattr(station, key) != value for key, value in values.items()):
            before = {key: getattr(station, key) for key in values}
            for key, value in values.items():
                setattr(station, key, value)
            station.updated_at = now
            record_version(session, station, before, now)
            updated += 1
            changes.append(Change(record.id, before, values))
        else:
            unchanged += 1
    session.flush()
    return ImportCounts(added, updated, unchanged), changes


def audit_changes(session: Session, changes: list[Change], actor: tuple[str, str], action: str,
                  now: datetime) -> None:
    """One audit entry per station changed, with only the fields that changed before and after."""
    for change in changes:
        before = change.before
        keys = [k for k in change.after if before is None or before.get(k) != change.after[k]]
        session.add(AuditEntry(at=now, actor=actor[0], actor_role=actor[1], action=action, target_kind="station",
                               target=change.station, before=None if before is None else {k: before[k] for k in keys},
                               after={k: change.after[k] for k in keys}))


def upsert_stations(engine: Engine, records: list[StationRecord], *,
                    actor: tuple[str, str] | None = None, now: datetime | None = None) -> ImportCounts:
    """Insert or update every record in one transaction (re-importing a file changes nothing twice); with `actor`
    (name, role), each change is kept in the audit log. `now`: when the change is made (default: the current time)."""
    now = now or utcnow()
    with make_session_factory(engine).begin() as session:
        counts, changes = upsert_records(session, records, now)
        if actor is not None:
            audit_changes(session, changes, actor, "station.import", now)
    return counts
