"""The databases go away under a live agent -> broker -> ingester chain.

PostgreSQL stopped for a minute: the ingester stops committing and acknowledging (longer than its keepalive, so the
broker also drops its connection while it waits), the broker and the agents' outboxes hold the data, and once
PostgreSQL is back the same ingester stores everything exactly once; then the ingester is killed with SIGKILL while
it holds an uncommitted batch, and a restart with the same session loses nothing. VictoriaMetrics (the InfluxDB API)
stopped: the relational path does not notice, and a graceful stop neither waits for it nor loses count of a point.
A station lookup that fails while PostgreSQL is away holds its batch unacknowledged instead of dead-lettering it.
"""

import json
import re
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.exc import OperationalError

from cloud.registry.csv_rows import StationRecord
from cloud.registry.store import upsert_stations
from cloud.store.models import Alert, DeadLetter, Event
from firmware_config.schedule import Schedule
from tests.faults.conftest import AgentProcess, agents, ingester, pg_server, registered_store, stored_keys, wait_for_all
from tests.ingest.conftest import Station, publish, running_ingester
from tests.localservices import Mosquitto, free_port, run_victoria_metrics
from tests.wait import poll


def _metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith(name + " ")))


def _broker_dropped(broker: Mosquitto, client_id: str, log_from: int) -> bool:
    """Has the broker logged, after byte `log_from` of its log, that `client_id`'s connection ended?"""
    with broker.log.open("rb") as log:
        log.seek(log_from)
        text = log.read().decode(errors="replace")
    return re.search(rf"Client {re.escape(client_id)} (has exceeded timeout|closed its connection|disconnected)",
                     text) is not None


def _expected(procs: list[AgentProcess]) -> set[tuple[str, str, int]]:
    return {(a.station, d, n) for a in procs for d, numbers in a.generated().items() for n in numbers}


@pytest.mark.timeout(420)
def test_postgresql_down_then_ingester_killed_mid_batch_loses_nothing(mosquitto: Mosquitto, tmp_path: Path) -> None:
    stations = ["qd-pg-1", "qd-pg-2"]
    with pg_server() as pg:
        engine = registered_store(pg.url, stations)
        port = free_port()
        # The ingester's persistent session exists before any station publishes (as in production).
        with ingester(mosquitto.port, pg.url, "ing-pg", tmp_path / "ing-0.log") as ing:
            ing.terminate()
        with agents(stations, mosquitto.port, tmp_path, interval_s=0.05) as procs:
            with ingester(mosquitto.port, pg.url, "ing-pg", tmp_path / "ing-1.log", "--metrics-port", str(port),
                          "--batch-size", "50") as ing:
                poll(lambda: len(stored_keys(engine)) > 200, timeout=60, what="events flowing")

                # The failure: PostgreSQL goes away; the ingester cannot commit, so it acknowledges nothing.
                broker_log_from = mosquitto.log.stat().st_size
                pg.stop()
                with pytest.raises(OperationalError):
                    create_engine(pg.url).connect()
                poll(lambda: _metric(port, "eldercare_ingest_store_unavailable_total") >= 2, timeout=30,
                     what="the ingester retrying")
                stored_before = _metric(port, "eldercare_ingest_stored_total")
                generated = sum(len(r) for a in procs for r in a.generated().values())
                # The outage lasts until the broker has dropped the blocked ingester (it sent nothing for longer than
                # its keepalive) and the stations have counted on meanwhile.
                poll(lambda: _broker_dropped(mosquitto, "ing-pg", broker_log_from), timeout=180,
                     what="the broker dropping the blocked ingester's connection")
                poll(lambda: sum(len(r) for a in procs for r in a.generated().values()) > generated + 1000, timeout=60,
                     what="the stations counting on during the outage")
                assert _metric(port, "eldercare_ingest_stored_total") == stored_before
                # The stations kept counting.
                assert sum(len(r) for a in procs for r in a.generated().values()) > generated + 1000
                assert "database unavailable; batch kept unacked" in ing.text()

                pg.start()  # the same ingester, not restarted, resumes
                poll(lambda: _metric(port, "eldercare_ingest_stored_total") > stored_before + 100, timeout=60,
                     what="commits after PostgreSQL came back")
                # Blocked in its retry for longer than 1.5 keepalives, the ingester lost its link too and came back.
                ing.wait_logged("disconnected from the broker; reconnecting", timeout=30)
                ing.terminate()

            # Then SIGKILL while a batch is uncommitted: a minute's batch timer keeps messages in the process.
            with ingester(mosquitto.port, pg.url, "ing-pg", tmp_path / "ing-2.log", "--metrics-port", str(port),
                          "--batch-size", "10000", "--batch-ms", "60000") as ing:
                poll(lambda: _metric(port, "eldercare_ingest_queue") > 100, timeout=30, what="a batch filling")
                before_kill = len(stored_keys(engine))
                ing.kill()
            assert len(stored_keys(engine)) == before_kill  # the batch died uncommitted
        for agent in procs:
            assert agent.waiting() == 0, f"{agent.station}: outbox not drained"
        expected = _expected(procs)
        assert len(expected) - before_kill > 100
        with ingester(mosquitto.port, pg.url, "ing-pg", tmp_path / "ing-3.log") as ing:  # same session: redelivered
            keys = wait_for_all(engine, expected)
            ing.terminate()
        assert [k for k, n in Counter(keys).items() if n > 1] == []
        assert set(keys) == expected
        engine.dispose()


@pytest.mark.timeout(120)
def test_influx_down_leaves_the_relational_path_unaffected(mosquitto: Mosquitto, tmp_path: Path) -> None:
    engine = registered_store(f"sqlite:///{tmp_path / 'store.db'}", ["qd-a"])
    a = Station("qd-a")
    metrics = free_port()
    with run_victoria_metrics() as vm, ingester(mosquitto.port, str(engine.url), "ing-influx", tmp_path / "ing.log",
                                                "--metrics-port", str(metrics),
                                                env={"ELDERCARE_INFLUX_URL": vm.url}) as ing:
        publish(mosquitto, [a.flow(3) for _ in range(20)])
        poll(lambda: len(stored_keys(engine)) == 20, what="20 events stored")
        poll(lambda: b"flow_in" in _export(vm.url), timeout=30, what="telemetry in VictoriaMetrics")

        # The failure: VictoriaMetrics goes away; its port refuses connections, the sink's writes fail.
        vm.stop()
        with pytest.raises(OSError):
            _export(vm.url)
        started = time.monotonic()
        publish(mosquitto, [a.flow(2) for _ in range(500)] + [a.call()])
        poll(lambda: len(stored_keys(engine)) == 521, timeout=30, what="every event stored without InfluxDB")
        elapsed = time.monotonic() - started
        ing.wait_logged("telemetry write retrying", timeout=30)
        scraped = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=5).read().decode()
        assert 'eldercare_telemetry_points{fate="written"} 20.0' in scraped
        assert 'eldercare_telemetry_points{fate="pending"} 501.0' in scraped  # held and retried, not yet given up
        # A graceful stop does not wait out the telemetry back-off, and accounts for every point: 20 written before
        # the outage, the 501 after it dropped (the relational store has them all).
        stopped = time.monotonic()
        log = ing.terminate(timeout=60)
        stop_s = time.monotonic() - stopped
    summary = json.loads(next(line for line in log.splitlines() if '"msg": "stopped"' in line))
    assert (summary["stored"], summary["telemetry_written"], summary["telemetry_dropped"]) == (521, 20, 501)
    print(f"500 events + a call stored in {elapsed:.2f} s with InfluxDB down; graceful stop took {stop_s:.1f} s")


def _export(url: str) -> bytes:
    urllib.request.urlopen(f"{url}/internal/force_flush", timeout=3).read()
    query = urllib.parse.quote('{__name__!=""}')
    body: bytes = urllib.request.urlopen(f"{url}/api/v1/export?match[]={query}", timeout=3).read()
    return body


@pytest.mark.timeout(180)
def test_station_lookup_while_postgresql_is_down_waits_instead_of_dead_lettering(
        mosquitto: Mosquitto, tmp_path: Path) -> None:
    """A station the ingester has not cached yet publishes while the database is away: its lookup fails. That is
    the database's fault, not the message's: the batch waits unacknowledged and is stored once PostgreSQL is back,
    never filed as an invalid dead letter (which would have been acknowledged and never counted)."""
    with pg_server() as pg:
        engine = registered_store(pg.url, ["qd-a"])
        try:
            with running_ingester(mosquitto, engine, batch_ms=100) as ing:
                # Registered after the ingester read the registry: its first message needs a fresh lookup.
                schedule = Schedule(weekdays="1-5", hours="08:30-11:30 13:30-17:00")
                upsert_stations(engine, [StationRecord(id="qd-new", name="新站", town="汇龙镇", grade="2A",
                                                       schedule=schedule)])
                new, known = Station("qd-new"), Station("qd-a")
                messages = [new.door("open"), new.flow(3), new.call("pressed", "c-new"), known.flow(1),
                            new.face(), new.door("closed")]

                engine.dispose()  # no idle session for PostgreSQL's shutdown to wait for
                pg.stop()
                with pytest.raises(OperationalError):
                    create_engine(pg.url).connect()
                publish(mosquitto, messages)
                # The failure really happened: the lookup failed and the batch is being retried, unacknowledged.
                poll(lambda: ing.metrics.lookup_errors._value.get() >= 1, timeout=30, what="a failed lookup")
                poll(lambda: ing.metrics.store_errors._value.get() >= 2, timeout=30, what="retries")
                assert ing.totals["received"] == 0 and ing.totals["dead_letters"] == 0

                pg.start()
                poll(lambda: ing.totals["stored"] == len(messages), timeout=60, what="the batch stored")
            assert ing.totals["dead_letters"] == 0
            with engine.connect() as c:
                assert c.execute(select(func.count()).select_from(DeadLetter)).scalar_one() == 0
                stored = sorted(c.execute(select(Event.station_id, Event.kind)).tuples())
                alert = c.execute(select(Alert.cause_key)).scalar_one()
            assert stored == sorted([("qd-new", "door"), ("qd-new", "flow"), ("qd-new", "call"), ("qd-a", "flow"),
                                     ("qd-new", "face"), ("qd-new", "door")])
            assert alert == "call:qd-new:c-new"
        finally:
            engine.dispose()
