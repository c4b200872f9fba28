"""The worker over a real store (SQLite and PostgreSQL), fed through ingest in the order things happen: a station's
Monday, kept through a network outage, is sent on Tuesday morning; an ingester's session is lost while the rest of
Monday is being sent. Nothing of Monday is received after the window, so no event marks Monday again: the worker
finds the lost stretch when it derives Tuesday (the window's day), derives Monday again, and the check of Monday
afternoon is unverifiable for the platform's loss instead of blamed on the station's equipment. The evidence
download of Monday alone gives `cloud derive` the same answer."""

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import Engine, select

from cloud.api.routes.evidence import events_queries, full_edges, stream_events
from cloud.derive.plans import create_plan
from cloud.derive.runner import Partition, run_pass
from cloud.ingest.losses import LOST_WHILE_AWAY, Loss, record
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult, SpotCheckResult
from cloud.store.models import DirtyStationDay, Station
from eldercare.cli import cli
from tests.derive.conftest import feed_received
from tests.rules.scenario import STATION_CSV
from tests.rules.test_backlog_losses import MONDAY, TUESDAY, at, replayed, window_over

CONFIG = RulesConfig()


def monday(engine: Engine) -> tuple[dict[str, Any], dict[str, Any]]:
    with make_session_factory(engine)() as session:
        day = session.scalars(select(DayResult).where(DayResult.station_id == "qd-a",
                                                      DayResult.local_date == MONDAY)).one().record
        spot = session.scalars(select(SpotCheckResult).where(SpotCheckResult.station_id == "qd-a")).one().record
    return day, {k: v for k, v in spot.items() if k != "plan"}


def test_monday_lost_on_tuesday_is_found_rederived_and_audited_alike(store: Engine, tmp_path: Path) -> None:
    received = replayed()
    window = window_over(received, at(MONDAY, time(13, 0)), at(TUESDAY, time(0, 0)))
    lost_from, lost_to = (datetime.fromtimestamp(t, UTC) for t in window)
    before = [m for m in received if m[2] < lost_from]
    after = [m for m in received if m[2] > lost_to]
    factory = make_session_factory(store)
    with factory() as session:
        create_plan(session, day=MONDAY, start=time(14), end=time(15), scope="stations", created_by="bureau",
                    now=lost_from, stations=["qd-a"])
        session.commit()
    feed_received(store, before)
    assert run_pass(factory, Partition(), CONFIG, lost_from).errors == 0
    assert record(store, Loss("ingest-b", lost_from, lost_to, LOST_WHILE_AWAY), lost_to)
    feed_received(store, after)
    with factory() as session:  # nothing received after the window is Monday's: Monday is not marked
        dirty = {(d.station_id, d.local_date) for d in session.scalars(select(DirtyStationDay))}
        assert ("qd-a", TUESDAY) in dirty and ("qd-a", MONDAY) not in dirty
    now = datetime.combine(TUESDAY, time(20), UTC)
    assert run_pass(factory, Partition(), CONFIG, now).errors == 0
    day, spot = monday(store)
    assert "platform_lost_messages" in day["flags"] and "equipment_off" not in day["flags"]
    assert day["backlog_lost"] == ["11:40-00:00"]
    assert (spot["result"], spot["reason_code"]) == ("unverifiable", "platform_lost_messages")

    # The auditor downloads Monday's evidence and the windows, and derives Monday alone.
    with factory() as session:
        station = session.get(Station, "qd-a")
        assert station is not None
        queries = events_queries(station, MONDAY, MONDAY, CONFIG)
        edges = full_edges(station, MONDAY, MONDAY, CONFIG)
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(stream_events(factory, "qd-a", queries, CONFIG, edges)))
    assert any(json.loads(line)["payload"]["ts"].startswith(TUESDAY.isoformat())
               for line in events.read_text(encoding="utf-8").splitlines())
    (tmp_path / "stations.csv").write_text(STATION_CSV, encoding="utf-8")
    (tmp_path / "checks.csv").write_text(f"date,start,end,station\n{MONDAY},14:00,15:00,qd-a\n", encoding="utf-8")
    (tmp_path / "losses.csv").write_text("client_id,lost_from,lost_to,reason\n"
                                         f"ingest-b,{lost_from.isoformat()},{lost_to.isoformat()},lost_while_away\n",
                                         encoding="utf-8")
    result = CliRunner().invoke(cli, [
        "cloud", "derive", "--stations", str(tmp_path / "stations.csv"), "--events", str(events),
        "--from", MONDAY.isoformat(), "--to", MONDAY.isoformat(), "--spot-checks", str(tmp_path / "checks.csv"),
        "--losses", str(tmp_path / "losses.csv")], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    [derived_day] = [ln for ln in lines if ln["type"] == "day" and ln["station"] == "qd-a"]
    [derived_spot] = [ln for ln in lines if ln["type"] == "spot_check" and ln["station"] == "qd-a"]
    assert derived_day == day
    assert derived_spot == spot


def test_without_the_window_the_same_backlog_is_judged_as_received(store: Engine) -> None:
    """The same replay with nothing lost: Monday is whole, open in the afternoon, and the check passes."""
    received = replayed()
    factory = make_session_factory(store)
    with factory() as session:
        create_plan(session, day=MONDAY, start=time(14), end=time(15), scope="stations", created_by="bureau",
                    now=received[0][2], stations=["qd-a"])
        session.commit()
    feed_received(store, received)
    assert run_pass(factory, Partition(), CONFIG, datetime.combine(TUESDAY + timedelta(days=1), time(0), UTC)
                    ).errors == 0
    day, spot = monday(store)
    assert day["backlog_lost"] == [] and "platform_lost_messages" not in day["flags"]
    assert spot["result"] == "pass"
