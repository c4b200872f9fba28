"""Write station records into the registry: insert new ones, update changed ones, never duplicate."""

from dataclasses import dataclass

from sqlalchemy import Engine

from cloud.registry.csv_rows import StationRecord
from cloud.store.db import make_session_factory
from cloud.store.models import Station


@dataclass(frozen=True, slots=True)
class ImportCounts:
    added: int
    updated: int
    unchanged: int


def _values(record: StationRecord) -> dict[str, object]:
    schedule = record.schedule
    return {
        "name": record.name, "town": record.town, "grade": record.grade, "address": record.address,
        "weekdays": schedule.weekdays_text(), "hours": schedule.hours_text(),
        "open_on_holidays": schedule.open_on_holidays, "timezone": schedule.timezone,
    }


def upsert_stations(engine: Engine, records: list[StationRecord]) -> ImportCounts:
    """Insert or update every record in one transaction (re-importing a file changes nothing twice)."""
    added = updated = unchanged = 0
    with make_session_factory(engine).begin() as session:
        for record in records:
            values = _values(record)
            station = session.get(Station, record.id)
            if station is None:
                session.add(Station(id=record.id, **values))
                added += 1
            elif any(getattr(station, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(station, key, value)
                updated += 1
            else:
                unchanged += 1
    return ImportCounts(added, updated, unchanged)
