"""A care centre (照料中心) and a neighbourhood point (睦邻点) through the derivation, on a real store (SQLite and
PostgreSQL) fed through ingest, and through `cloud derive` from the same files: their opening, elders served and
person-times are derived as any station's, their closed spot checks are judged, counted and alert the town, but a
month with a handful of elders is no threshold failure and failed checks set no veto (the kinds have no grade, so no
monthly figure, no subsidy by grade and no veto). The same fortnight with graded stations does both."""

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from cloud.api.assessment import assessment
from cloud.api.yearfacts import year_facts
from cloud.derive.plans import create_plan
from cloud.derive.rederive import rederive_range
from cloud.derive.runner import Partition, run_pass
from cloud.registry.csv_rows import parse_station_csv
from cloud.registry.store import upsert_stations
from cloud.rules.calendar import PACKAGE
from cloud.rules.config import RulesConfig
from cloud.rules.rollup import NOT_GRADED
from cloud.rules.spotcheck import SpotResult, vetoes
from cloud.store.db import make_engine, make_session_factory
from cloud.store.derived import SpotCheckResult
from cloud.store.migrate import upgrade
from cloud.store.models import Alert, Station
from eldercare.cli import cli
from tests.derive.conftest import feed
from tests.derive.test_worker import NOW, from_derive, stored

KINDS_CSV = (
    "station_id,name,town,grade,weekdays,hours,open_on_holidays,kind\n"
    "qd-a,新仓村照料中心,斜桥镇,,1-5,08:30-11:30 13:30-17:00,no,care_centre\n"
    "qd-b,庆云小区睦邻点,斜桥镇,,1-5,08:30-11:30 13:30-17:00,no,睦邻点\n"
)
# qd-a opens at 09:20 on the 13th and not at all on the 14th: two failed days. Two set the veto here (so that the
# fortnight can show it); the checks of the 13th afternoon and the 14th cover both sites.
CHECKS = ((date(2026, 10, 13), time(8, 30), time(9, 30), ["qd-a"]), (date(2026, 10, 14), time(9), time(10), None),
          (date(2026, 10, 13), time(14), time(15), None))
CHECKS_CSV = ("date,start,end,station\n2026-10-13,08:30,09:30,qd-a\n2026-10-14,09:00,10:00,\n"
              "2026-10-13,14:00,15:00,\n")
TWO = RulesConfig(veto_failures=2)
REGISTERED = datetime(2026, 9, 30, 16, tzinfo=UTC)  # 1 October in Shanghai, the fortnight's first day: the registry's
# first version of each site (never the real today). Registered earlier, its silent September would be owed too.


def _store(db_url: str, stations_csv: str) -> Engine:
    engine = make_engine(db_url)
    upgrade(engine)
    records, problems = parse_station_csv(stations_csv)
    assert not problems
    upsert_stations(engine, records, now=REGISTERED)
    with make_session_factory(engine)() as session:
        for day, start, end, stations in CHECKS:
            create_plan(session, day=day, start=start, end=end, scope="stations" if stations else "all",
                        stations=stations, created_by="bureau", now=NOW)
        session.commit()
    return engine


@pytest.fixture
def kinds_store(db_url: str) -> Iterator[Engine]:
    engine = _store(db_url, KINDS_CSV)
    yield engine
    engine.dispose()


def _derive(tmp_path: Path, stations_csv: str, messages: list[tuple[str, bytes]]) -> dict[str, Any]:
    files = {"stations": tmp_path / "stations.csv", "events": tmp_path / "events.jsonl",
             "checks": tmp_path / "checks.csv", "rules": tmp_path / "rules.yaml"}
    files["stations"].write_text(stations_csv, encoding="utf-8")
    files["events"].write_text("".join(json.dumps({"topic": t, "payload": json.loads(p)}) + "\n"
                                       for t, p in messages), encoding="utf-8")
    files["checks"].write_text(CHECKS_CSV, encoding="utf-8")
    files["rules"].write_text("veto_failures: 2\n", encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "cloud", "derive", "--stations", str(files["stations"]), "--events", str(files["events"]),
        "--from", "2026-10-01", "--to", "2026-10-16", "--spot-checks", str(files["checks"]),
        "--rules", str(files["rules"])], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return from_derive([json.loads(line) for line in result.stdout.splitlines()])


def test_few_elders_and_closed_checks_are_reported_never_failed(kinds_store: Engine, tmp_path: Path,
                                                                messages: list[tuple[str, bytes]]) -> None:
    feed(kinds_store, messages)
    assert run_pass(make_session_factory(kinds_store), Partition(), TWO, NOW).errors == 0
    got = stored(kinds_store)
    centre = got["month"][("qd-a", "2026-10")]
    # A handful of elders served (a 2A station needs 50): reported, and no threshold to meet or miss.
    assert 0 < centre["elders"] < 50 and centre["person_times"] > 0
    assert (centre["kind"], centre["grade"], centre["threshold"], centre["met"]) == ("care_centre", None, None, None)
    assert (centre["met_reason"], centre["at_risk"], centre["projection"]) == (NOT_GRADED, None, None)
    assert centre["compliance"] is not None and centre["verdicts"]["closed"] >= 1  # its opening is still judged
    point = got["month"][("qd-b", "2026-10")]
    assert (point["kind"], point["threshold"], point["met"]) == ("neighbourhood_point", None, None)
    # The closed checks are judged and alert the town (the bureau may still check a site's opening) ...
    with make_session_factory(kinds_store)() as session:
        results = sorted((r.station_id, r.record["date"], r.result) for r in session.scalars(select(SpotCheckResult)))
        closed_alerts = {a.station_id for a in session.scalars(select(Alert).where(Alert.kind == "spot_check_closed"))}
    assert [r for r in results if r[0] == "qd-a" and r[2] == "fail"] == [
        ("qd-a", "2026-10-13", "fail"), ("qd-a", "2026-10-14", "fail")]
    assert closed_alerts == {"qd-a"}
    # ... and counted, but they set no veto: it does not apply (null), never "vetoed".
    assert got["veto"][("qd-a", 2026)] == (2, None)
    # `cloud derive` on the same files answers the same.
    expected = _derive(tmp_path, KINDS_CSV, messages)
    assert got["month"] == expected["month"]
    assert got["veto"] == expected["veto"]
    assert got["spot_check"].keys() == expected["spot_check"].keys()


def test_the_same_fortnight_as_graded_stations_is_judged_as_before(db_url: str,
                                                                   messages: list[tuple[str, bytes]]) -> None:
    graded = KINDS_CSV.replace(",,1-5", ",2A,1-5").replace(",care_centre\n", ",\n").replace(",睦邻点\n", ",station\n")
    engine = _store(db_url, graded)
    feed(engine, messages)
    assert run_pass(make_session_factory(engine), Partition(), TWO, NOW).errors == 0
    got = stored(engine)
    engine.dispose()
    month = got["month"][("qd-a", "2026-10")]
    assert (month["kind"], month["grade"], month["threshold"], month["met"]) == ("station", "2A", 50, False)
    assert got["veto"][("qd-a", 2026)] == (2, True)


def test_three_closed_checks_veto_a_station_only() -> None:
    days = [date(2026, 3, 10), date(2026, 6, 9), date(2026, 9, 8)]
    results = [(sid, d, SpotResult.FAIL) for sid in ("qd-station", "hn-centre", "hn-point") for d in days]
    statuses = {s.station: s for s in vetoes(results, RulesConfig(), {("hn-centre", 2026), ("hn-point", 2026)})}
    assert (statuses["qd-station"].failed, statuses["qd-station"].veto) == (3, True)
    assert (statuses["hn-centre"].failed, statuses["hn-centre"].veto) == (3, None)
    assert (statuses["hn-point"].failed, statuses["hn-point"].veto) == (3, None)
    # The year's kind decides, as the year's grade decides its subsidy: another year of the same site is judged by
    # the kind it had then.
    later = vetoes([("hn-centre", date(2027, m, 9), SpotResult.FAIL) for m in (3, 6, 9)], RulesConfig(),
                   {("hn-centre", 2026)})
    assert later[0].veto is True


def test_a_change_of_kind_judges_the_month_and_year_by_the_kind_at_their_end(
        kinds_store: Engine, messages: list[tuple[str, bytes]]) -> None:
    """Re-registering a site is no way out of a verdict: a care centre made a graded station in October is held to
    its grade's figure for October and its year's failed checks set the veto; a station made a care centre before
    the year ends escapes the veto, but has no subsidy by grade to keep either (the assessment's own rule)."""
    feed(kinds_store, messages)
    factory = make_session_factory(kinds_store)
    assert run_pass(factory, Partition(), TWO, NOW).errors == 0
    graded = KINDS_CSV.replace(",,1-5", ",2A,1-5").replace(",care_centre\n", ",\n").replace(",睦邻点\n", ",\n")
    records, problems = parse_station_csv(graded)
    assert not problems
    upsert_stations(kinds_store, [r for r in records if r.id == "qd-a"], now=NOW)  # from 16 October
    rederive_range(factory, date(2026, 10, 1), date(2026, 10, 16), ["qd-a"], TWO, PACKAGE, NOW)
    got = stored(kinds_store)
    month = got["month"][("qd-a", "2026-10")]
    assert (month["kind"], month["grade"], month["threshold"], month["met"]) == ("station", "2A", 50, False)
    assert got["veto"][("qd-a", 2026)] == (2, True)
    with factory() as session:
        facts = year_facts(session, [s for s in session.scalars(select(Station)) if s.id == "qd-a"], 2026)[0]
    assert (facts.kind, facts.grade, facts.veto) == ("station", "2A", True)
    # And back: a care centre again before the year ends.
    centre, _ = parse_station_csv(KINDS_CSV)
    upsert_stations(kinds_store, [r for r in centre if r.id == "qd-a"], now=NOW + timedelta(days=30))
    rederive_range(factory, date(2026, 10, 1), date(2026, 10, 16), ["qd-a"], TWO, PACKAGE, NOW)
    assert stored(kinds_store)["veto"][("qd-a", 2026)] == (2, None)
    with factory() as session:
        facts = year_facts(session, [s for s in session.scalars(select(Station)) if s.id == "qd-a"], 2026)[0]
    sheet = assessment(facts, subsidy_cny=TWO.subsidy_cny, pass_score=TWO.pass_score,
                       min_known_share=TWO.month_min_known_share, score=95)
    assert (sheet.summary["veto"], sheet.summary["subsidy"], sheet.summary["subsidy_cny"]) == (None, None, None)
