"""The registry keeps every version of a station's hours and grade, each from the local day it was changed, on SQLite
and PostgreSQL: imports and edits make versions, an unchanged re-import makes none, a version never moves back in
time, and a station registered before the history began keeps its old hours for its old days."""

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from cloud.registry.csv_rows import parse_station_csv
from cloud.registry.store import upsert_stations
from cloud.store.db import make_engine, make_session_factory
from cloud.store.models import Station
from cloud.store.schedules import BACKFILL_FROM, VERSIONED, StationSchedule, record_version, station_history
from eldercare.groups import cloud

HEADER = "station_id,name,town,grade,weekdays,hours,open_on_holidays,timezone\n"


def _csv(hours: str = "08:00-17:00", grade: str = "3A", name: str = "汇龙站", zone: str = "Asia/Shanghai") -> str:
    return HEADER + f"qd-h,{name},汇龙镇,{grade},1-5,{hours},no,{zone}\n"


def _import(engine: Engine, text: str, now: datetime) -> tuple[int, int, int]:
    records, problems = parse_station_csv(text)
    assert problems == []
    counts = upsert_stations(engine, records, now=now)
    return counts.added, counts.updated, counts.unchanged


def _versions(engine: Engine, station: str = "qd-h") -> list[tuple[date, str, str | None]]:
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(StationSchedule).where(StationSchedule.station_id == station)
                               .order_by(StationSchedule.effective_from))
        return [(r.effective_from, r.hours, r.grade) for r in rows]


def test_an_import_and_each_change_make_a_version_from_the_local_day(engine: Engine) -> None:
    assert _import(engine, _csv(), datetime(2026, 9, 1, 2, tzinfo=UTC)) == (1, 0, 0)
    assert _versions(engine) == [(date(2026, 9, 1), "08:00-17:00", "3A")]
    # The same file again, and a change of name only: no new version.
    assert _import(engine, _csv(), datetime(2026, 9, 20, tzinfo=UTC)) == (0, 0, 1)
    assert _import(engine, _csv(name="汇龙站（新）"), datetime(2026, 9, 21, tzinfo=UTC)) == (0, 1, 0)
    assert len(_versions(engine)) == 1
    # 23:30 UTC on the 14th is 07:30 on the 15th in Shanghai: the new hours apply from the 15th.
    assert _import(engine, _csv(hours="09:00-11:00"), datetime(2026, 10, 14, 23, 30, tzinfo=UTC)) == (0, 1, 0)
    assert _versions(engine) == [(date(2026, 9, 1), "08:00-17:00", "3A"), (date(2026, 10, 15), "09:00-11:00", "3A")]
    # A grade change the same local day replaces that day's version; earlier days keep theirs.
    _import(engine, _csv(hours="09:00-11:00", grade="2A"), datetime(2026, 10, 15, 9, tzinfo=UTC))
    assert _versions(engine) == [(date(2026, 9, 1), "08:00-17:00", "3A"), (date(2026, 10, 15), "09:00-11:00", "2A")]
    with make_session_factory(engine)() as session:
        station = session.get(Station, "qd-h")
        assert station is not None
        history = station_history(session, station)
    assert history.on(date(2026, 10, 14)).schedule.hours_text() == "08:00-17:00"
    assert history.on(date(2026, 10, 15)).grade == "2A"
    assert history.on(date(2026, 8, 1)).schedule.hours_text() == "08:00-17:00"  # before it was registered


def test_changing_back_the_same_day_leaves_no_version_of_that_day(engine: Engine) -> None:
    _import(engine, _csv(), datetime(2026, 9, 1, 2, tzinfo=UTC))
    _import(engine, _csv(hours="09:00-11:00"), datetime(2026, 10, 15, 1, tzinfo=UTC))
    _import(engine, _csv(), datetime(2026, 10, 15, 8, tzinfo=UTC))
    assert _versions(engine) == [(date(2026, 9, 1), "08:00-17:00", "3A")]


def test_the_effective_day_is_in_the_station_zone(engine: Engine) -> None:
    # The instant that is the 15th in Shanghai (above) is still the 14th for a station whose zone is UTC.
    _import(engine, _csv(zone="UTC"), datetime(2026, 9, 1, 2, tzinfo=UTC))
    _import(engine, _csv(hours="09:00-11:00", zone="UTC"), datetime(2026, 10, 14, 23, 30, tzinfo=UTC))
    assert _versions(engine)[-1][0] == date(2026, 10, 14)


def test_a_station_registered_before_the_history_keeps_its_hours_for_its_old_days(engine: Engine) -> None:
    # Written straight into `stations` (as before the history existed): its first change keeps the old values as the
    # version before the day of the change.
    with make_session_factory(engine).begin() as session:
        session.add(Station(id="qd-h", name="汇龙站", town="汇龙镇", grade="3A", weekdays="1,2,3,4,5",
                            hours="08:00-17:00", open_on_holidays=False, timezone="Asia/Shanghai"))
    assert _versions(engine) == []
    _import(engine, _csv(hours="09:00-11:00"), datetime(2026, 10, 15, 1, tzinfo=UTC))
    assert _versions(engine) == [(BACKFILL_FROM, "08:00-17:00", "3A"), (date(2026, 10, 15), "09:00-11:00", "3A")]


def test_the_import_command_makes_versions_and_an_unchanged_reimport_none(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELDERCARE_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    assert CliRunner().invoke(cloud, ["migrate", "--data-dir", str(data)]).exit_code == 0
    csv = tmp_path / "stations.csv"
    engine = make_engine(f"sqlite:///{data / 'eldercare.db'}")
    try:
        def run(text: str) -> str:
            csv.write_text(text, encoding="utf-8")
            result = CliRunner().invoke(cloud, ["stations", "import", str(csv), "--data-dir", str(data)])
            assert result.exit_code == 0, result.output
            return result.stdout.strip()

        assert run(_csv()) == "stations: 1 added, 0 updated, 0 unchanged"
        first = _versions(engine)
        assert [hours for _, hours, _ in first] == ["08:00-17:00"]
        assert run(_csv()) == "stations: 0 added, 0 updated, 1 unchanged"
        assert _versions(engine) == first
        assert run(_csv(hours="09:00-11:00")) == "stations: 0 added, 1 updated, 0 unchanged"
        # Made today (the real clock): the change is the version from today, whatever today is.
        assert _versions(engine)[-1][1] == "09:00-11:00"
        with make_session_factory(engine)() as session:
            station = session.get(Station, "qd-h")
            assert station is not None
            assert station_history(session, station).on(date.max).schedule.hours_text() == "09:00-11:00"
    finally:
        engine.dispose()


def _edit(session: Session, hours: str, now: datetime) -> None:
    """One edit of qd-h's hours in `session` (as the registry's writer makes it), committed."""
    station = session.get_one(Station, "qd-h")
    before = {key: getattr(station, key) for key in VERSIONED}
    station.hours = hours
    record_version(session, station, before, now)
    session.commit()


@pytest.mark.parametrize(("earlier_today", "first", "second", "versions"), [
    (None, "10:00-12:00", "09:00-11:00",
     [(date(2026, 9, 1), "08:00-17:00", "3A"), (date(2026, 10, 15), "09:00-11:00", "3A")]),
    # Changed back to the hours before today: today has no version of its own, whatever the other edit wrote.
    ("10:00-12:00", "11:00-12:00", "08:00-17:00", [(date(2026, 9, 1), "08:00-17:00", "3A")]),
])
def test_two_edits_of_a_station_at_once_the_same_day_the_last_to_commit_wins(
        engine: Engine, earlier_today: str | None, first: str, second: str,
        versions: list[tuple[date, str, str]]) -> None:
    _import(engine, _csv(), datetime(2026, 9, 1, 2, tzinfo=UTC))
    if earlier_today is not None:
        _import(engine, _csv(hours=earlier_today), datetime(2026, 10, 14, 23, tzinfo=UTC))
    now = datetime(2026, 10, 15, 1, tzinfo=UTC)
    factory = make_session_factory(engine)
    armed = True

    def other_edit_between_read_and_write(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # The other request's edit commits just after this one read the versions and before it writes its own.
        nonlocal armed
        if armed and statement.lstrip().upper().startswith("SELECT") and "station_schedules" in statement:
            armed = False
            with factory() as other:
                _edit(other, first, now)

    with factory() as session:
        station = session.get_one(Station, "qd-h")
        before = {key: getattr(station, key) for key in VERSIONED}
        station.hours = second
        event.listen(engine, "after_cursor_execute", other_edit_between_read_and_write)
        try:
            # Its station row is written at commit, so that nothing of this edit holds a lock the other one would
            # wait for: the race is forced in one thread, without sleeps.
            with session.no_autoflush:
                record_version(session, station, before, now)
            session.commit()
        finally:
            event.remove(engine, "after_cursor_execute", other_edit_between_read_and_write)
    assert not armed  # the other edit did come in between
    assert _versions(engine) == versions
    with factory() as session:
        assert session.get_one(Station, "qd-h").hours == second
