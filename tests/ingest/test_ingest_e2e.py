"""A simulated station → real Mosquitto → ingester → SQLite and PostgreSQL."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from cloud.store.models import Alert, DeadLetter, Device, DirtyStationDay, Event
from tests.ingest.conftest import Station, count, publish, running_ingester
from tests.localservices import Mosquitto
from tests.wait import poll


def test_a_station_day_lands_in_the_store(mosquitto: Mosquitto, engine: Engine) -> None:
    a = Station("qd-a")
    evening = datetime(2026, 10, 12, 17, 30, tzinfo=UTC)  # 01:30 on the 13th in Shanghai
    good = [a.flow(3), a.door("open"), a.face(), a.flow(2, ts=evening), a.health(False, error="wire cut"),
            a.status(True), a.heartbeat()]
    bad = [
        ("eldercare/v1/qd-a/door-1/door", b"not json"),
        ("eldercare/v1/qd-zz/door-1/door", Station("qd-zz").door()[1]),  # unknown station
        ("eldercare/v1/qd-b/door-1/door", a.door()[1]),  # qd-a's payload on qd-b's topic: spoofed
        ("eldercare/v1/qd-a/door-1/door", json.dumps({"v": 1, "station": "qd-a"}).encode()),
    ]
    with running_ingester(mosquitto, engine) as ingester:
        publish(mosquitto, good + bad)
        poll(lambda: count(engine, Event) + count(engine, DeadLetter) == len(good) + len(bad))
    assert ingester.totals["stored"] == len(good) and ingester.totals["dead_letters"] == len(bad)
    with engine.connect() as c:
        events = c.execute(select(Event.kind, Event.device_id, Event.local_date, Event.seq)).all()
        letters = {r.topic + " " + r.reason for r in c.execute(select(DeadLetter))}
        devices = {(d.device_id): d for d in c.execute(select(Device))}
        dirty = set(c.execute(select(DirtyStationDay.station_id, DirtyStationDay.local_date)).all())
        raw = c.execute(select(DeadLetter.payload).where(DeadLetter.reason.like("%not valid JSON%"))).scalar_one()
    assert sorted(k for k, *_ in events) == ["door", "face", "flow", "flow", "health", "heartbeat", "status"]
    assert ("flow", "flow-1", date(2026, 10, 13), 4) in events  # the local date, not the UTC one
    assert any("unknown station 'qd-zz'" in letter for letter in letters)
    assert any(letter.startswith("eldercare/v1/qd-b/door-1/door station: payload says 'qd-a'") for letter in letters)
    assert any("id is required but missing" in letter for letter in letters)
    assert bytes(raw) == b"not json"
    assert devices["door-1"].last_health_ok is False and devices["door-1"].last_health == {
        "ok": False, "error": "wire cut", "detail": None}
    assert devices["agent"].online is True and devices["flow-1"].kind == "flow"
    assert ("qd-a", date(2026, 10, 13)) in dirty
    assert ingester.metrics.invalid.labels("spoofed")._value.get() == 1
    assert ingester.metrics.invalid.labels("unknown_station")._value.get() == 1


def test_redelivered_and_replayed_events_are_stored_once(mosquitto: Mosquitto, engine: Engine) -> None:
    a = Station("qd-a")
    messages = [a.flow(1), a.door("closed"), a.status(False)]
    with running_ingester(mosquitto, engine) as ingester:
        publish(mosquitto, messages)
        publish(mosquitto, messages + messages)  # an outbox replayed twice after a reconnect
        poll(lambda: ingester.totals["received"] == 9)
    assert count(engine, Event) == 3
    assert ingester.totals["duplicates"] == 6


def test_an_id_is_stored_once_whatever_its_ts(mosquitto: Mosquitto, engine: Engine) -> None:
    a = Station("qd-a")
    topic, first = a.door("open", ts=datetime(2026, 10, 12, 1, 0, tzinfo=UTC))
    # A broken device reusing the id at another time, in the same batch and in a later one.
    again = first.replace(b'"ts":"2026-10-12T01:00:00', b'"ts":"2026-10-12T02:00:00')
    assert again != first
    with running_ingester(mosquitto, engine, batch_ms=500) as ingester:
        publish(mosquitto, [(topic, first), (topic, again)])
        poll(lambda: ingester.totals["received"] == 2)
        publish(mosquitto, [(topic, again)])
        poll(lambda: ingester.totals["received"] == 3)
    assert (ingester.totals["stored"], ingester.totals["duplicates"]) == (1, 2)
    with engine.connect() as c:
        assert c.execute(select(Event.ts)).scalars().all() == [datetime(2026, 10, 12, 1, 0, tzinfo=UTC)]


def test_an_emergency_press_commits_without_waiting_for_the_batch(mosquitto: Mosquitto, engine: Engine) -> None:
    a = Station("qd-a")
    # A batch timer of ten minutes and a huge batch: only the fast path can commit the press.
    with running_ingester(mosquitto, engine, batch_ms=600_000, batch_size=10_000):
        publish(mosquitto, [a.call("pressed", "c-42")])
        poll(lambda: count(engine, Event) == 1, timeout=20, what="the press to be committed")
        publish(mosquitto, [a.call("pressed", "c-42")])  # the same press delivered again: still one alert
        poll(lambda: count(engine, Event) == 2, timeout=20)
    with engine.connect() as c:
        alert = c.execute(select(Alert)).one()
    assert (alert.kind, alert.cause_key, alert.status, alert.level, alert.call_id) == (
        "emergency_call", "call:qd-a:c-42", "raised", "station", "c-42")
    assert alert.evidence is not None and alert.evidence["device"] == "call-1"


def test_a_row_the_store_refuses_is_dead_lettered_and_the_rest_of_the_batch_kept(
        mosquitto: Mosquitto, engine: Engine) -> None:
    # The protocol's bounds keep every value the store cannot hold out before the store sees it (a seq beyond 64
    # bits is refused by validation now), so the store's own refusal is stood in for by a trigger refusing one
    # device's events: a valid message the database will not take, whatever the reason.
    with engine.begin() as c:
        if engine.dialect.name == "sqlite":
            c.execute(text("CREATE TRIGGER refuse_door9 BEFORE INSERT ON events WHEN NEW.device_id = 'door-9' "
                           "BEGIN SELECT RAISE(ABORT, 'door-9 is refused'); END"))
        else:
            c.execute(text("CREATE FUNCTION refuse_door9() RETURNS trigger AS $$ BEGIN IF NEW.device_id = 'door-9' "
                           "THEN RAISE EXCEPTION 'door-9 is refused' USING ERRCODE = 'check_violation'; END IF; "
                           "RETURN NEW; END $$ LANGUAGE plpgsql"))
            c.execute(text("CREATE TRIGGER refuse_door9 BEFORE INSERT ON events FOR EACH ROW "
                           "EXECUTE FUNCTION refuse_door9()"))
    a = Station("qd-a")
    good = [a.flow(1) for _ in range(5)]
    topic, payload = a.door()
    refused = payload.replace(b'"door-1"', b'"door-9"')
    topic = topic.replace("/door-1/", "/door-9/")
    with running_ingester(mosquitto, engine, batch_ms=500) as ingester:
        publish(mosquitto, [*good[:3], (topic, refused), *good[3:]])
        poll(lambda: ingester.totals["received"] == 6)
    assert count(engine, Event) == 5
    with engine.connect() as c:
        letter = c.execute(select(DeadLetter)).one()
    assert letter.reason.startswith("store refused the event:") and "door-9 is refused" in letter.reason
    assert bytes(letter.payload) == refused and ingester.totals["dead_letters"] == 1


def test_clock_faults_are_stored_flagged_and_dirty_no_day(mosquitto: Mosquitto, engine: Engine) -> None:
    a = Station("qd-a")
    future = datetime.now(UTC) + timedelta(days=400)
    with running_ingester(mosquitto, engine):
        publish(mosquitto, [a.flow(4, ts=future)])
        poll(lambda: count(engine, Event) == 1)
    with engine.connect() as c:
        event = c.execute(select(Event)).one()
        dirty = c.execute(select(DirtyStationDay)).all()
    assert event.clock_fault is not None and "ahead of the receiver's clock" in event.clock_fault
    assert dirty == []


def test_newer_health_wins_and_older_replays_do_not_overwrite(mosquitto: Mosquitto, engine: Engine) -> None:
    a = Station("qd-a")
    now = datetime.now(UTC)
    with running_ingester(mosquitto, engine):
        publish(mosquitto, [a.health(True, ts=now)])
        poll(lambda: count(engine, Event) == 1)
        publish(mosquitto, [a.health(False, error="old", ts=now - timedelta(hours=1))])  # a late replay
        poll(lambda: count(engine, Event) == 2)
    with engine.connect() as c:
        device = c.execute(select(Device)).one()
    assert device.last_health_ok is True and device.last_health_at == now


def test_the_queue_gauge_counts_a_batch_until_its_commit_ends(
    mosquitto: Mosquitto, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`eldercare_ingest_queue` ("received and not yet committed") stays above zero while a batch is being written:
    an operator (or a test) that waits for it to reach zero before reading the store must find everything there."""
    from cloud.ingest import commit
    from cloud.ingest.service import Ingester
    from cloud.ingest.writer import write_batch

    seen_during_commit: list[float | None] = []
    ingester_box: list[Ingester] = []

    def observed_write(*args: Any, **kwargs: Any) -> Any:
        registry = ingester_box[0].metrics.registry
        seen_during_commit.append(registry.get_sample_value("eldercare_ingest_queue"))
        return write_batch(*args, **kwargs)

    monkeypatch.setattr(commit, "write_batch", observed_write)
    a = Station("qd-a")
    with running_ingester(mosquitto, engine, batch_size=5) as ingester:
        ingester_box.append(ingester)
        publish(mosquitto, [a.flow(i) for i in range(5)])
        # Zero only once the batch is in the store (it was 5 while it was written, below).
        poll(lambda: ingester.metrics.registry.get_sample_value("eldercare_ingest_queue") == 0
             and count(engine, Event) == 5, what="the batch committed and the queue gauge back to zero")
        assert count(engine, Event) == 5
    assert seen_during_commit and seen_during_commit[0] == 5
