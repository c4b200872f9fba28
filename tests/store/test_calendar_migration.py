"""Revision 0005_calendar on SQLite and PostgreSQL: bureau alerts of no station, and the alert kinds the revision before
it added survive its rewrite of the check constraint (and its downgrade)."""

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from cloud.store.db import make_engine
from tests.store.migrations import migrate_to

BASE_KINDS = "'emergency_call', 'spot_check_closed', 'spot_check_unverifiable', 'station_offline', 'sensor_anomaly'"


def _alert(engine: Engine, key: str, kind: str, station: str | None, level: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO alerts (kind, station_id, cause_key, status, level, raised_at) "
            "VALUES (:kind, :station, :key, 'raised', :level, CURRENT_TIMESTAMP)"),
            {"kind": kind, "station": station, "key": key, "level": level})


def test_0005_calendar_keeps_other_kinds_and_admits_bureau_alerts(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate_to(engine, "0005_rules")  # the revision before it, which adds its own kind (equipment_off)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO stations (id, name, town, grade, weekdays, hours, open_on_holidays, "
                                "timezone, created_at, updated_at) VALUES ('qd-a', 'a', 't', '2A', '1-5', "
                                "'08:30-11:30', false, 'Asia/Shanghai', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    migrate_to(engine, "0005_calendar")
    _alert(engine, "k1", "equipment_off", "qd-a", "town")
    _alert(engine, "k2", "calendar_unknown_year", None, "bureau")
    for key, kind, level in (("k3", "bogus", "town"), ("k4", "station_offline", "mayor")):
        with pytest.raises(IntegrityError):
            _alert(engine, key, kind, "qd-a", level)
    migrate_to(engine, "0005_rules", down=True)
    _alert(engine, "k5", "equipment_off", "qd-a", "town")  # still admitted
    with pytest.raises(IntegrityError):
        _alert(engine, "k6", "calendar_unknown_year", "qd-a", "town")
    with pytest.raises(IntegrityError):
        _alert(engine, "k7", "station_offline", None, "town")  # station required again
    with engine.connect() as connection:
        left = connection.execute(text("SELECT count(*) FROM alerts WHERE kind = 'calendar_unknown_year'")).scalar()
    assert left == 0
    engine.dispose()
