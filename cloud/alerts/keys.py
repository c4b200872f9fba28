"""Cause keys: one alert per cause, however often, by whichever process and in whatever order the cause is seen.

The alerts table keeps `cause_key` unique, so these strings are the idempotency keys of raising: ingest and the
worker both raise an emergency call's alert under `call_key`, and only the first one creates it.
"""

UNKNOWN_YEAR_PREFIX = "calendar:unknown-year:"


def call_key(station: str, call: str) -> str:
    """One alert per emergency press, however often the press is delivered."""
    return f"call:{station}:{call}"


def spot_check_key(plan_id: int, station: str) -> str:
    return f"spot:{plan_id}:{station}"


def offline_key(station: str, day: str) -> str:
    return f"offline:{station}:{day}"


def anomaly_key(what: str, station: str, day: str) -> str:
    return f"anomaly:{what}:{station}:{day}"


def anomaly_of(key: str) -> str | None:
    """What a sensor anomaly's cause key says was found (`door-open-idle`, ...); None for any other key."""
    parts = key.split(":")
    return parts[1] if len(parts) == 4 and parts[0] == "anomaly" else None


def is_anomaly_of_day(key: str, station: str, day: str) -> bool:
    """Whether `key` is one of `anomaly_key(…, station, day)`, whatever the anomaly."""
    return key.startswith("anomaly:") and key.endswith(f":{station}:{day}")


def equipment_off_key(station: str, day: str) -> str:
    return f"equipment-off:{station}:{day}"


def unknown_year_key(year: int) -> str:
    return f"{UNKNOWN_YEAR_PREFIX}{year}"


def unknown_year_of(key: str) -> int:
    """The year of an `unknown_year_key`."""
    return int(key.removeprefix(UNKNOWN_YEAR_PREFIX))
