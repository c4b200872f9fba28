"""`eldercare cloud ingest` as real processes: graceful stop, kill -9 under load, two ingesters sharing the stream."""

import json
import signal
import threading
import urllib.request

from sqlalchemy import Engine, func, select

from cloud.store.models import Event
from tests.ingest.conftest import (
    Station,
    count,
    ingest_process,
    prepare,
    publish,
    terminate,
    wait_connected,
)
from tests.localservices import Mosquitto, free_port
from tests.wait import poll


def _stopped(log: str) -> dict[str, int]:
    line = next(line for line in log.splitlines() if '"msg": "stopped"' in line)
    totals: dict[str, int] = json.loads(line)
    return totals


def _metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith(name + " ")))


def _distinct(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(select(func.count(func.distinct(Event.id)))).scalar_one())


def test_sigterm_flushes_acknowledges_and_reports(mosquitto: Mosquitto, sqlite_url: str) -> None:
    engine = prepare(sqlite_url)
    a = Station("qd-a")
    port = free_port()
    process = ingest_process(mosquitto, sqlite_url, "ing-term", "--batch-size", "10000", "--batch-ms", "60000",
                             "--metrics-port", str(port))
    wait_connected(process)
    publish(mosquitto, [a.flow(i) for i in range(200)])
    poll(lambda: _metric(port, "eldercare_ingest_queue") == 200, what="200 messages received")
    # The batch timer is a minute away: only the graceful stop can commit these.
    log = terminate(process)
    assert process.returncode == 0, log
    assert count(engine, Event) == 200
    assert _stopped(log)["stored"] == 200
    # They were acknowledged: a restarted ingester with the same session gets nothing again.
    again = ingest_process(mosquitto, sqlite_url, "ing-term")
    wait_connected(again)
    publish(mosquitto, [a.door()])
    poll(lambda: count(engine, Event) == 201)
    totals = _stopped(terminate(again))
    assert (totals["received"], totals["duplicates"]) == (1, 0)


def test_kill_9_under_load_loses_nothing_and_duplicates_nothing(mosquitto: Mosquitto, db_url: str) -> None:
    engine = prepare(db_url)
    a, b = Station("qd-a"), Station("qd-b")
    messages = [s.flow(i) for i in range(1500) for s in (a, b)]
    process = ingest_process(mosquitto, db_url, "ing-kill", "--batch-size", "100")
    wait_connected(process)
    publisher = threading.Thread(target=publish, args=(mosquitto, messages))
    publisher.start()
    poll(lambda: count(engine, Event) >= 300, what="the first commits")
    process.send_signal(signal.SIGKILL)  # mid-stream: some messages received, not committed, not acked
    process.wait()
    publisher.join(60)
    assert count(engine, Event) < len(messages)
    restarted = ingest_process(mosquitto, db_url, "ing-kill")  # the same session: the broker redelivers
    wait_connected(restarted)
    poll(lambda: count(engine, Event) >= len(messages), timeout=120, what="every message")
    terminate(restarted)
    assert count(engine, Event) == _distinct(engine) == len(messages)
    with engine.connect() as c:
        seqs = set(c.execute(select(Event.station_id, Event.seq)).all())
    assert seqs == {(s.station, n) for s in (a, b) for n in range(1, 1501)}


def test_two_ingesters_on_the_shared_subscription_store_each_event_once(mosquitto: Mosquitto, db_url: str) -> None:
    engine = prepare(db_url)
    a = Station("qd-a")
    messages = [a.flow(i) for i in range(2000)]
    first = ingest_process(mosquitto, db_url, "ing-1", "--group", "g")
    second = ingest_process(mosquitto, db_url, "ing-2", "--group", "g")
    wait_connected(first)
    wait_connected(second)
    publish(mosquitto, messages)
    poll(lambda: count(engine, Event) == len(messages), timeout=120)
    one, two = _stopped(terminate(first)), _stopped(terminate(second))
    assert one["received"] > 0 and two["received"] > 0  # the broker split the stream
    assert one["received"] + two["received"] == len(messages)
    assert one["stored"] + two["stored"] == len(messages) and one["duplicates"] == two["duplicates"] == 0
    assert _distinct(engine) == count(engine, Event) == len(messages)


def test_mqtt_311_plain_subscription(mosquitto: Mosquitto, sqlite_url: str) -> None:
    engine = prepare(sqlite_url)
    a = Station("qd-a")
    publish(mosquitto, [a.status(True)], retain=True)  # retained before the ingester starts
    process = ingest_process(mosquitto, sqlite_url, "ing-311", "--mqtt-version", "3.1.1")
    lines = wait_connected(process)
    assert any('"subscription": "eldercare/v1/#"' in line for line in lines)
    publish(mosquitto, [a.door(), a.face()])
    poll(lambda: count(engine, Event) == 3)
    assert _stopped(terminate(process))["stored"] == 3


def test_an_unmigrated_server_database_is_a_clear_error(mosquitto: Mosquitto, postgres_url: str) -> None:
    # A shared server is upgraded deliberately; only the embedded SQLite file is created by the command itself.
    process = ingest_process(mosquitto, postgres_url, "ing-x")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "is not migrated" in err and "run 'eldercare cloud migrate'" in err
    assert "Traceback" not in err
