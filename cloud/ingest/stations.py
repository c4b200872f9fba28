"""The registry as ingest sees it: cached, refreshed on a miss (rate-limited) and periodically.

A refresh that fails (the database is away) raises for a station the cache does not know, so the caller can hold
the message and retry rather than call the station unknown; a station it knows is answered from the cache."""

import threading
import time
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from cloud.convert import StationInfo
from cloud.store.models import Station


class StationCache:
    """Station id → StationInfo. A miss re-reads the registry at most every `miss_interval` seconds."""

    def __init__(self, engine: Engine, refresh_interval: float = 60.0, miss_interval: float = 2.0) -> None:
        self._engine = engine
        self._refresh_interval = refresh_interval
        self._miss_interval = miss_interval
        self._stations: dict[str, StationInfo] = {}
        self._loaded_at = float("-inf")
        self._failed: tuple[float, Exception] | None = None  # the last failed refresh: when, and why
        self._lock = threading.Lock()

    def refresh(self) -> None:
        with self._engine.connect() as connection:
            rows = connection.execute(select(Station.id, Station.town, Station.grade, Station.timezone,
                                             Station.kind)).all()
        self._stations = {r.id: StationInfo(r.id, r.town, r.grade, ZoneInfo(r.timezone), r.kind) for r in rows}
        self._loaded_at = time.monotonic()

    def __call__(self, station_id: str) -> StationInfo | None:
        info = self._stations.get(station_id)
        age = time.monotonic() - self._loaded_at
        if (info is None and age > self._miss_interval) or age > self._refresh_interval:
            with self._lock:
                now = time.monotonic()
                if self._failed is not None and now - self._failed[0] <= self._miss_interval:
                    if info is None:  # the database failed a moment ago: do not ask it again for every message
                        raise RuntimeError(f"registry unavailable: {self._failed[1]}") from self._failed[1]
                    return info
                if now - self._loaded_at > min(age, self._miss_interval):
                    try:
                        self.refresh()
                        self._failed = None
                    except Exception as exc:
                        self._failed = (time.monotonic(), exc)
                        if info is None:
                            raise
                        return info  # known already: a stale answer beats holding every message of the fleet
            info = self._stations.get(station_id)
        return info

    def __len__(self) -> int:
        return len(self._stations)
