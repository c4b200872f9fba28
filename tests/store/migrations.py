"""Moving a test database to one Alembic revision, as the migration tests need (upgrade or downgrade in place)."""

import uuid
from datetime import date, datetime

from alembic import command
from sqlalchemy import Connection, Engine, text

from cloud.store.migrate import alembic_config


def migrate_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Upgrade (or, with `down`, downgrade) `engine`'s database to `revision`, on one connection."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def event_and_day(connection: Connection, station: str, at: datetime) -> None:
    """A stored event and a derived day of `station` (written as the revisions of late 2026 have them): rows that
    refer to the station, which a migration touching `stations` or their neighbours must keep."""
    connection.execute(text(
        "INSERT INTO events (id, ts, station_id, device_id, kind, local_date, seq, received_at, payload) "
        "VALUES (:id, :at, :station, 'door-1', 'door', :day, 1, :at, '{}')"),
        {"id": str(uuid.uuid4()), "at": at, "station": station, "day": date(2026, 11, 1)})
    connection.execute(text(
        "INSERT INTO day_results (station_id, local_date, working_day, verdict, compliance, person_times, elders, "
        "record, computed_at) VALUES (:station, :day, true, 'open', 1.0, 3, 2, '{}', :at)"),
        {"station": station, "day": date(2026, 10, 12), "at": at})
