"""Revision 0013_homecare_late_uploads on SQLite and PostgreSQL: a store holding alerts of every kind (a station's,
a home-care alert of a town, a bureau alert of no station) and what refers to its stations is upgraded in place with
nothing lost, the database then admits a `homecare_late_uploads` alert and still refuses an unknown kind; the
downgrade deletes the late-upload alerts only and refuses the kind again; and up again."""

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from cloud.store.db import make_engine
from cloud.store.models import Base
from tests.store.migrations import event_and_day, migrate_to
from tests.store.test_store import _diff_table

AT = datetime(2026, 11, 1, tzinfo=UTC)
BEFORE, AFTER = "0012_station_kind", "0013_homecare_late_uploads"
TABLES = ("stations", "events", "day_results", "alerts")
OLD_ALERTS = {"call:qd-a:1": ("emergency_call", "qd-a", None), "hc-just:HL001:2026-10":
              ("homecare_just_long_enough", None, "汇龙镇"), "calendar:2027": ("calendar_unknown_year", None, None)}


def _alert(engine: Engine, cause: str, kind: str, station: str | None, town: str | None) -> None:
    level = "town" if town else "station" if station else "bureau"
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO alerts (kind, station_id, cause_key, status, level, raised_at, evidence, town) "
            "VALUES (:kind, :station, :cause, 'raised', :level, :at, '{\"n\": 1}', :town)"),
            {"kind": kind, "station": station, "cause": cause, "level": level, "at": AT, "town": town})


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def _kinds(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT cause_key, kind FROM alerts")).tuples().all())


def test_0013_admits_the_late_upload_kind_and_keeps_every_alert(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate_to(engine, BEFORE)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO stations (id, name, town, grade, weekdays, hours, open_on_holidays, timezone, created_at, "
            "updated_at, kind) VALUES ('qd-a', 'a', '汇龙镇', '3A', '1,2,3,4,5', '08:30-11:30', false, "
            "'Asia/Shanghai', :at, :at, 'station')"), {"at": AT})
        event_and_day(connection, "qd-a", AT)
    for cause, (kind, station, town) in OLD_ALERTS.items():
        _alert(engine, cause, kind, station, town)
    with pytest.raises(IntegrityError):  # not a kind yet
        _alert(engine, "hc-late:early", "homecare_late_uploads", None, "汇龙镇")
    before = _counts(engine)
    assert all(before.values()), before

    migrate_to(engine, AFTER)
    assert _counts(engine) == before  # nothing cascaded or copied away
    assert _kinds(engine) == {cause: kind for cause, (kind, _, _) in OLD_ALERTS.items()}
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert [d for d in diffs if _diff_table(d) in TABLES] == []
        evidence = connection.execute(text("SELECT evidence, town FROM alerts WHERE cause_key = "
                                           "'hc-just:HL001:2026-10'")).one()
        assert "1" in str(evidence[0]) and evidence[1] == "汇龙镇"
    _alert(engine, "hc-late:caregiver:p-hl:HL001:2026-10", "homecare_late_uploads", None, "汇龙镇")
    with pytest.raises(IntegrityError):
        _alert(engine, "x:1", "homecare_made_up", None, "汇龙镇")
    with engine.connect() as connection:  # a new connection reads the widened definition too
        assert connection.execute(text("SELECT count(*) FROM alerts WHERE kind = 'homecare_late_uploads'")
                                  ).scalar_one() == 1

    migrate_to(engine, BEFORE, down=True)
    assert _kinds(engine) == {cause: kind for cause, (kind, _, _) in OLD_ALERTS.items()}
    assert _counts(engine) == before
    with pytest.raises(IntegrityError):
        _alert(engine, "hc-late:again", "homecare_late_uploads", None, "汇龙镇")
    migrate_to(engine, AFTER)  # and up again
    _alert(engine, "hc-late:again", "homecare_late_uploads", None, "汇龙镇")
    assert _counts(engine)["alerts"] == before["alerts"] + 1
    engine.dispose()
