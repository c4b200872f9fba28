"""Calendar and closure changes over a real store (SQLite and PostgreSQL): the worker recomputes by itself after a
holiday upload or a closure change, `cloud rederive` rewrites stored verdicts, the unknown-year alert, the live
offline check on an announced closure, and spot checks older than 62 days."""

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, delete, select

from cloud.derive import calendar_store
from cloud.derive.plans import create_plan
from cloud.derive.rederive import rederive_range
from cloud.derive.runner import Partition, live_offline, run_pass
from cloud.rules.calendar import PACKAGE, Calendar
from cloud.rules.config import RulesConfig
from cloud.rules.holidays_file import parse_holidays
from cloud.store.db import make_session_factory
from cloud.store.derived import SpotCheckResult, Veto
from cloud.store.models import Alert, Device, Station, StationException
from eldercare.cli import cli
from tests.derive.conftest import feed
from tests.derive.test_worker import NOW, stored

CONFIG = RulesConfig()
MONDAY = "2026-10-12"  # qd-a and qd-b open all day
COUNTY_HOLIDAY = "date,kind,name\n2026-10-12,holiday,县庆\n"


def _verdict(engine: Engine, station: str, day: str) -> str:
    return str(stored(engine)["day"][(station, day)]["verdict"])


def test_worker_recomputes_by_itself_after_a_holiday_upload(store: Engine, messages: list[tuple[str, bytes]]) -> None:
    feed(store, messages)
    factory = make_session_factory(store)
    assert run_pass(factory, Partition(), CONFIG, NOW).errors == 0
    assert _verdict(store, "qd-a", MONDAY) == "open"
    month_before = stored(store)["month"][("qd-a", "2026-10")]
    with factory() as session:  # what the dashboard's upload does
        calendar_store.store_version(session, parse_holidays(COUNTY_HOLIDAY), source="upload", now=NOW, by="bureau")
        session.commit()
    stats = run_pass(factory, Partition(), CONFIG, NOW + timedelta(seconds=2))
    assert stats.errors == 0 and stats.marked >= 2  # the Monday of both stations
    assert _verdict(store, "qd-a", MONDAY) == "not_scheduled"
    assert _verdict(store, "qd-b", MONDAY) == "not_scheduled"
    assert _verdict(store, "qd-a", "2026-10-13") != "not_scheduled"
    month_after = stored(store)["month"][("qd-a", "2026-10")]
    assert month_after != month_before  # one working day fewer in the month
    # Applied once: the next pass has nothing to mark.
    assert run_pass(factory, Partition(), CONFIG, NOW + timedelta(seconds=4)).marked == 0


def test_worker_takes_in_the_setting_file_when_it_changes(store: Engine, messages: list[tuple[str, bytes]],
                                                          tmp_path: Path) -> None:
    path = tmp_path / "holidays.csv"
    path.write_text("date,kind,name\n", encoding="utf-8")
    feed(store, messages)
    factory = make_session_factory(store)
    run_pass(factory, Partition(), CONFIG, NOW, holidays_file=path)
    assert _verdict(store, "qd-a", MONDAY) == "open"
    path.write_text(COUNTY_HOLIDAY, encoding="utf-8")
    run_pass(factory, Partition(), CONFIG, NOW + timedelta(seconds=2), holidays_file=path)
    assert _verdict(store, "qd-a", MONDAY) == "not_scheduled"
    path.write_text("date,kind,name\n2026-10-12,vacation,x\n", encoding="utf-8")  # broken: counted, not taken in
    stats = run_pass(factory, Partition(), CONFIG, NOW + timedelta(seconds=4), holidays_file=path)
    assert stats.errors == 1 and "line 2: bad kind 'vacation'" in stats.messages[0]
    assert _verdict(store, "qd-a", MONDAY) == "not_scheduled"


def test_worker_recomputes_by_itself_after_a_closure_change(store: Engine, messages: list[tuple[str, bytes]]) -> None:
    feed(store, messages)
    factory = make_session_factory(store)
    run_pass(factory, Partition(), CONFIG, NOW)
    assert _verdict(store, "qd-a", "2026-10-14") == "closed"
    with factory() as session:  # recorded by any means, without marking anything
        session.add(StationException(station_id="qd-a", date=date(2026, 10, 14), reason="typhoon"))
        session.commit()
    run_pass(factory, Partition(), CONFIG, NOW + timedelta(seconds=2))
    assert _verdict(store, "qd-a", "2026-10-14") == "excused"
    with factory() as session:  # withdrawn
        session.execute(delete(StationException).where(StationException.station_id == "qd-a"))
        session.commit()
    run_pass(factory, Partition(), CONFIG, NOW + timedelta(seconds=4))
    assert _verdict(store, "qd-a", "2026-10-14") == "closed"


def test_rederive_changes_stored_verdicts_after_a_calendar_change(store: Engine,
                                                                  messages: list[tuple[str, bytes]]) -> None:
    feed(store, messages)
    factory = make_session_factory(store)
    with factory() as session:
        create_plan(session, day=date(2026, 10, 12), start=time(9), end=time(10), scope="all", created_by="bureau",
                    now=NOW)
        session.commit()
    run_pass(factory, Partition(), CONFIG, NOW)
    assert _verdict(store, "qd-a", MONDAY) == "open"
    with factory() as session:
        assert {r.result for r in session.scalars(select(SpotCheckResult))} == {"pass"}
    calendar = Calendar.from_days(parse_holidays(COUNTY_HOLIDAY))
    lines: list[str] = []
    count = rederive_range(factory, date(2026, 10, 12), date(2026, 10, 12), ["qd-a"], CONFIG, calendar, NOW,
                           lines.append)
    assert count >= 1 and lines[-1].startswith("done:") and "qd-a 2026-10" in lines[0]
    assert _verdict(store, "qd-a", MONDAY) == "not_scheduled"
    assert _verdict(store, "qd-b", MONDAY) == "open"  # --station limits it
    with factory() as session:
        results = {r.station_id: r.result for r in session.scalars(select(SpotCheckResult))}
    assert results["qd-a"] != "pass" and results["qd-b"] == "pass"  # the check on a holiday is re-judged
    # And back with the package calendar: the same rows as before.
    rederive_range(factory, date(2026, 10, 1), date(2026, 10, 31), [], CONFIG, PACKAGE, NOW)
    assert _verdict(store, "qd-a", MONDAY) == "open"


def _unknown_year_alerts(engine: Engine) -> list[Alert]:
    with make_session_factory(engine)() as session:
        return list(session.scalars(select(Alert).where(Alert.kind == "calendar_unknown_year")))


def test_unknown_year_alert_from_1_december(store: Engine) -> None:
    factory = make_session_factory(store)
    shanghai_midnight = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 1 December 00:00 in Shanghai
    run_pass(factory, Partition(), CONFIG, shanghai_midnight - timedelta(seconds=1))
    assert _unknown_year_alerts(store) == []  # 30 November: not yet
    stats = run_pass(factory, Partition(), CONFIG, shanghai_midnight + timedelta(minutes=1))
    assert stats.unknown_years == [2027]
    [alert] = _unknown_year_alerts(store)
    assert (alert.level, alert.station_id, alert.status) == ("bureau", None, "raised")
    assert alert.evidence is not None and alert.evidence["year"] == 2027 and "2027" in alert.evidence["message"]
    run_pass(factory, Partition(), CONFIG, shanghai_midnight + timedelta(minutes=2))
    assert len(_unknown_year_alerts(store)) == 1  # one alert per year
    with factory() as session:
        calendar_store.store_version(session, parse_holidays("date,kind,name\n2027-01-01,holiday,元旦\n"),
                                     source="upload", now=shanghai_midnight, by="bureau")
        session.commit()
    run_pass(factory, Partition(), CONFIG, shanghai_midnight + timedelta(minutes=3))
    [alert] = _unknown_year_alerts(store)
    assert alert.status == "resolved"


def test_an_announced_closure_raises_no_offline_alert(store: Engine) -> None:
    factory = make_session_factory(store)
    monday_10am = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)
    with factory() as session:
        session.add(Device(station_id="qd-a", device_id="door-1", kind="door",
                           last_seen_at=monday_10am - timedelta(hours=2)))
        session.add(Device(station_id="qd-b", device_id="door-1", kind="door",
                           last_seen_at=monday_10am - timedelta(hours=2)))
        session.add(StationException(station_id="qd-a", date=date(2026, 10, 12), reason="renovation"))
        session.commit()
        stations = list(session.scalars(select(Station).order_by(Station.id)))
        assert live_offline(session, stations, CONFIG, monday_10am) == 1  # qd-b only
        session.commit()
        offline = {a.station_id for a in session.scalars(select(Alert).where(Alert.kind == "station_offline"))}
    assert offline == {"qd-b"}


def test_a_plan_older_than_62_days_is_still_judged(store: Engine, messages: list[tuple[str, bytes]]) -> None:
    factory = make_session_factory(store)
    with factory() as session:
        create_plan(session, day=date(2026, 10, 14), start=time(9), end=time(10), scope="stations",
                    stations=["qd-a"], created_by="bureau", now=datetime(2026, 10, 13, 2, 0, tzinfo=UTC))
        session.commit()
    feed(store, messages)
    # The worker derives 14 October at 09:30, inside the check window (not judged yet), then is down until late
    # December: no event touches that day again, so only the pass over due plans can judge it.
    during = datetime(2026, 10, 14, 1, 30, tzinfo=UTC)
    assert run_pass(factory, Partition(), CONFIG, during).errors == 0
    with factory() as session:
        assert session.scalars(select(SpotCheckResult)).all() == []
    late = datetime(2026, 12, 28, 4, 0, tzinfo=UTC)
    assert run_pass(factory, Partition(), CONFIG, late).errors == 0
    with factory() as session:
        result = session.scalars(select(SpotCheckResult).where(SpotCheckResult.station_id == "qd-a")).one()
        veto = session.scalars(select(Veto).where(Veto.station_id == "qd-a")).one()
    assert result.result == "fail" and (veto.year, veto.failed) == (2026, 1)


def test_rederive_command(store: Engine, messages: list[tuple[str, bytes]], tmp_path: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    feed(store, messages)
    run_pass(make_session_factory(store), Partition(), CONFIG, NOW)
    holidays = tmp_path / "holidays.csv"
    holidays.write_text(COUNTY_HOLIDAY, encoding="utf-8")
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", store.url.render_as_string(hide_password=False))
    monkeypatch.setenv("ELDERCARE_HOLIDAYS_FILE", str(holidays))
    runner = CliRunner()
    done = runner.invoke(cli, ["cloud", "rederive", "--from", "2026-10-12", "--to", "2026-10-13", "--station", "qd-a"])
    assert done.exit_code == 0, done.output
    assert "rederive: station 1/1 qd-a 2026-10:" in done.stderr and "rederive: done:" in done.stderr
    assert _verdict(store, "qd-a", MONDAY) == "not_scheduled" and _verdict(store, "qd-b", MONDAY) == "open"
    unknown = runner.invoke(cli, ["cloud", "rederive", "--from", "2026-10-12", "--to", "2026-10-12", "--station", "x"])
    assert unknown.exit_code != 0 and "no such station: x" in unknown.stderr
    backwards = runner.invoke(cli, ["cloud", "rederive", "--from", "2026-10-12", "--to", "2026-10-01"])
    assert backwards.exit_code != 0 and "--to is before --from" in backwards.stderr


def test_rederive_upgrades_an_embedded_store_itself_and_refuses_an_unmigrated_postgresql(
        tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Like every other command: an embedded SQLite store is created or upgraded in place (rederive once refused it
    # with "run 'eldercare cloud migrate'", which the README says only PostgreSQL needs), quietly: no alembic lines.
    monkeypatch.delenv("ELDERCARE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ELDERCARE_HOLIDAYS_FILE", raising=False)
    runner = CliRunner()
    args = ["cloud", "rederive", "--from", "2026-10-12", "--to", "2026-10-13"]
    done = runner.invoke(cli, [*args, "--data-dir", str(tmp_path / "data")])
    assert done.exit_code == 0, done.output
    assert "rederive: done: 0 days of 0 stations" in done.stderr and "alembic" not in done.stderr
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", postgres_url)
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 1 and "not migrated" in refused.stderr and "eldercare cloud migrate" in refused.stderr
