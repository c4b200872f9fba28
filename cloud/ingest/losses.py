"""Recording a window in which this ingester's share of the stations' messages was lost, and asking the worker to
re-derive every station's days it touches.

The broker answered without the session it had been dealing messages to (away longer than the session expiry, or the
broker lost its saved state): what it held is gone, and the stations deleted it from their outboxes when the broker
acknowledged it. The loss is the platform's and falls on every station alike; the derivations read the window so
that no day or spot check inside it is held against a station. Written in one transaction with the dirty marks, so a
recorded loss is never left un-derived; a store that is away leaves the loss pending for the caller to retry.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from cloud.store.ingest_losses import IngestLoss
from cloud.store.models import DirtyStationDay, Station

log = logging.getLogger("eldercare.ingest")

LOSSES = cast(Table, IngestLoss.__table__)
DIRTY = cast(Table, DirtyStationDay.__table__)
# A door left open before a window is carried into the next day's timeline (the door lookback): re-derive it too.
AFTER = timedelta(days=1)
CHUNK = 1000  # dirty rows per statement: a large registry times a few days stays well inside parameter limits

# Why the session was gone, as stored in `reason`.
LOST_WHILE_AWAY = "lost_while_away"  # this client id came back (a restart) and the broker had no session for it
LOST_WHILE_RUNNING = "lost_while_running"  # the link dropped and on reconnecting the session was gone
HISTORY_UNKNOWN = "history_unknown"  # the store could not say when this client id was last connected


@dataclass(frozen=True, slots=True)
class Loss:
    """A window [lost_from, lost_to] (UTC) in which the messages the broker dealt to `client_id` may be lost."""

    client_id: str
    lost_from: datetime
    lost_to: datetime
    reason: str


def local_days(lost_from: datetime, lost_to: datetime, timezone: str) -> list[date]:
    """The local days (in `timezone`) the window touches, first to last."""
    zone = ZoneInfo(timezone)
    first, last = lost_from.astimezone(zone).date(), lost_to.astimezone(zone).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def affected_days(loss: Loss, timezone: str, now: datetime) -> list[date]:
    """The local days whose derivation the loss changes: those its window touches, and the day after it (up to now),
    into which a door state from before the window may be carried (the rules' default door lookback is 24 h)."""
    return local_days(loss.lost_from, max(loss.lost_to, min(loss.lost_to + AFTER, now)), timezone)


def record(engine: Engine, loss: Loss, now: datetime) -> bool:
    """Store the loss and mark every station's days in its window dirty, in one transaction. False (logged) when the
    store refused: the caller keeps the loss and tries again."""
    try:
        with engine.begin() as connection:
            connection.execute(LOSSES.insert().values(client_id=loss.client_id, lost_from=loss.lost_from,
                                                      lost_to=loss.lost_to, reason=loss.reason, recorded_at=now))
            marked = _mark_days(connection, loss, now)
    except SQLAlchemyError as exc:
        log.warning("could not record the lost messages' window in the store; will try again",
                    extra={"reason": str(exc)[:300], "lost_from": loss.lost_from, "lost_to": loss.lost_to})
        return False
    log.warning("recorded the window of lost messages: every station's days in it are re-derived, and no spot check "
                "in it is judged on the sensors",
                extra={"client_id": loss.client_id, "lost_from": loss.lost_from, "lost_to": loss.lost_to,
                       "reason": loss.reason, "station_days_marked": marked})
    return True


def _mark_days(connection: Connection, loss: Loss, now: datetime) -> int:
    zones: dict[str, list[str]] = defaultdict(list)
    for station_id, timezone in connection.execute(select(Station.id, Station.timezone)):
        zones[timezone].append(station_id)
    rows = [{"station_id": s, "local_date": d, "generation": 1, "marked_at": now}
            for timezone, stations in zones.items() for d in affected_days(loss, timezone, now)
            for s in stations]
    for i in range(0, len(rows), CHUNK):
        connection.execute(_dirty_upsert(connection, rows[i:i + CHUNK]))
    return len(rows)


def _dirty_upsert(connection: Connection, rows: list[dict[str, Any]]) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(DIRTY).values(rows)
    return statement.on_conflict_do_update(
        index_elements=[DIRTY.c.station_id, DIRTY.c.local_date],
        set_={"generation": DIRTY.c.generation + 1, "marked_at": statement.excluded.marked_at})
