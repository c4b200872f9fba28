"""What waited in memory when a damaged outbox stopped the agent is kept in a side file and stored again at the next
start (edge/pending.py): a full card first (counts numbered and kept in memory), then the file damaged, during a
network outage; the agent stops, the next start (the broker back) delivers every kept reading once with its own id
and seq, and every person is counted. A side file's bad lines are skipped and reported; two stops keep both sets;
a held reading comes back held and is re-stamped; the clock guard's release finding the damage stops the agent too."""

import json
import logging
import re
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.agent import Agent, OutboxFailed
from edge.drivers.base import Reading
from edge.keeper import OUTBOX_DEVICE
from edge.outbox import Outbox
from edge.pending import line, parse, restore, save, side_file
from edge.spill import Kept
from hostclock import KernelClock
from simulators.modbus_counter import ModbusCounterSim, SimCounter
from station_protocol import Flow, Health, Kind
from tests.edge.conftest import AgentThread, Subscriber, station_config, subscribe
from tests.edge.test_disk_full_agent import on_loop
from tests.edge.test_outbox_damaged_running import counted, damage_under, numbers_page, table_page
from tests.edge.test_outbox_repair import old_outbox
from tests.localservices import Mosquitto
from tests.wait import poll

STATION = "qd-damage-01"


def kept_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in path.read_bytes().splitlines()]


def delivered(subscriber: Subscriber) -> Counter[str]:
    """How often each event id reached the broker."""
    with subscriber.lock:
        snapshot = list(subscriber.messages)
    return Counter(str(getattr(m.decoded().message, "id", "")) for m in snapshot if "/agent/" not in m.topic)


@pytest.mark.parametrize("side", ["writable", "unwritable"])
def test_readings_in_memory_survive_a_damage_stop(side: str, mosquitto: Mosquitto, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """`unwritable`: the side file cannot be written either (a folder in its place, as a read-only card would refuse
    it): the stop's line says so and counts them lost."""
    unit = SimCounter(1)
    with ModbusCounterSim([unit], tmp_path / "ttyUSB0") as sim:
        base = station_config(mosquitto.port, tmp_path, [
            {"type": "counter", "id": "flow-2", "port": str(sim.port), "unit": 1, "interval_s": 0.1,
             "timeout_s": 0.2}], station=STATION)
        config = base.model_copy(update={
            "agent": base.agent.model_copy(update={"outbox_retry_s": 0.2}),
            "mqtt": base.mqtt.model_copy(update={"reconnect_min_s": 0.2, "reconnect_max_s": 0.5})})
        outbox = config.agent.outbox
        old_outbox(outbox, STATION, events=50)
        if side == "unwritable":
            side_file(outbox).mkdir()
        mosquitto.stop()  # a network outage: nothing leaves memory for the broker
        agent = Agent(config, fsync=False, kernel=lambda: None)
        thread = AgentThread(agent)
        with caplog.at_level(logging.INFO):
            thread.thread.start()
            poll(lambda: "100 events waiting in the outbox" in caplog.text, 30, "the agent started")
            on_loop(thread, lambda: agent.outbox.cap_pages(agent.outbox.pages))  # the card is full from now on

            def numbered() -> int:
                return on_loop(thread, lambda: sum(e.seq is not None for e in agent.spill
                                                   if e.reading.kind is Kind.FLOW))

            def counting() -> bool:
                unit.add(1, 0)
                return numbered() >= 5

            poll(counting, 30, "counts numbered and kept in memory while the card is full", interval=0.1)
            poll(lambda: damage_under(outbox, numbers_page), 30, "the numbers' page damaged between two writes")
            unit.add(3, 0)  # the next write finds the damage (this reading's, or the retry of those in memory)
            thread.thread.join(30)
            assert not thread.thread.is_alive(), "the agent went on with a damaged outbox"
        assert isinstance(thread.error, OutboxFailed)
        said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert said[-1] == str(thread.error)
        pending = side_file(outbox)
        if side == "unwritable":
            assert re.search(rf"; readings waiting in memory could not be kept in {re.escape(str(pending))} "
                             r"\(IsADirectoryError: .*\), lost: ([0-9]+)$", said[-1])
            return
        kept = kept_lines(pending)
        assert sum(k["numbered"] for k in kept) >= 5
        assert str(thread.error).endswith(f"readings waiting in memory kept in {pending} for the next start: "
                                          f"{len(kept)}")
        ids = {json.loads(k["payload"])["id"]: k for k in kept}
        assert len(ids) == len(kept)

        mosquitto.start()
        subscriber = subscribe(mosquitto, f"eldercare/v1/{STATION}/#")
        again = Agent(config, fsync=False, kernel=lambda: None)
        assert not pending.exists()  # stored in the (fresh) outbox before the agent runs
        with AgentThread(again):
            poll(lambda: set(ids) <= set(delivered(subscriber)), 30,
                 lambda: f"the kept readings at the broker: {len(set(ids) & set(delivered(subscriber)))} of "
                         f"{len(ids)}")
            unit.add(2, 0)
            people = unit.people_in
            poll(lambda: counted(flows(subscriber)) == people, 30,
                 lambda: f"every person counted once: {counted(flows(subscriber))} of {people}")
            poll(lambda: len(subscriber.of_kind("health", OUTBOX_DEVICE)) == 2, 30, "the outbox's reports")
    copies = delivered(subscriber)
    assert all(copies[i] == 1 for i in ids), "a kept reading arrived twice"
    with subscriber.lock:
        events = [m.decoded().message for m in subscriber.messages if "/agent/" not in m.topic]
    by_id: dict[str, Any] = {str(getattr(m, "id", "")): m for m in events}
    for event_id, k in ids.items():
        if k["numbered"]:
            assert by_id[event_id].seq == json.loads(k["payload"])["seq"], "a numbered reading kept its seq"
    # The outbox's reports: the full card's (kept in memory, now delivered) and the repair's, which counts the kept.
    full, report = sorted((d.message for d in subscriber.of_kind("health", OUTBOX_DEVICE)), key=lambda m: m.seq)
    assert isinstance(full, Health) and full.error is not None and full.error.startswith("outbox disk full")
    assert isinstance(report, Health) and report.ok is False and report.detail is not None
    assert report.error is not None and report.error.startswith("outbox file damaged")
    assert report.detail["pending_restored"] == len(kept) and report.detail["pending_skipped"] == 0


def test_a_stop_on_a_full_card_keeps_what_waits_in_memory(mosquitto: Mosquitto, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """Stopped (systemctl stop) while counts wait in memory for room: they are kept the same way and delivered after
    the next start, each once."""
    unit = SimCounter(1)
    with ModbusCounterSim([unit], tmp_path / "ttyUSB0") as sim:
        base = station_config(mosquitto.port, tmp_path, [
            {"type": "counter", "id": "flow-2", "port": str(sim.port), "unit": 1, "interval_s": 0.1,
             "timeout_s": 0.2}], station=STATION)
        config = base.model_copy(update={"mqtt": base.mqtt.model_copy(update={"reconnect_min_s": 0.2,
                                                                               "reconnect_max_s": 0.5})})
        mosquitto.stop()
        agent = Agent(config, fsync=False, kernel=lambda: None)
        with caplog.at_level(logging.INFO), AgentThread(agent) as thread:
            poll(lambda: "events waiting in the outbox" in caplog.text, 30, "the agent started")
            on_loop(thread, lambda: agent.outbox.cap_pages(agent.outbox.pages))  # the card is full from now on

            def counting() -> bool:
                unit.add(1, 0)
                return on_loop(thread, lambda: sum(e.reading.kind is Kind.FLOW for e in agent.spill)) >= 3

            poll(counting, 30, "counts kept in memory while the card is full", interval=0.1)
        kept = kept_lines(side_file(config.agent.outbox))
        assert len(kept) >= 3 and f"kept in {side_file(config.agent.outbox)} for the next start: {len(kept)}" in \
            caplog.text
        ids = {json.loads(k["payload"])["id"] for k in kept}
        mosquitto.start()
        subscriber = subscribe(mosquitto, f"eldercare/v1/{STATION}/#")
        with AgentThread(Agent(config, fsync=False, kernel=lambda: None)):
            poll(lambda: ids <= set(delivered(subscriber)), 30, "the kept readings at the broker")
            unit.add(2, 0)
            people = unit.people_in
            poll(lambda: counted(flows(subscriber)) == people, 30,
                 lambda: f"every person counted once: {counted(flows(subscriber))} of {people}")
    copies = delivered(subscriber)
    assert all(copies[i] == 1 for i in ids)
    assert not side_file(config.agent.outbox).exists()


def flows(subscriber: Subscriber) -> list[Any]:
    return [d.message for d in subscriber.of_kind("flow", "flow-2") if isinstance(d.message, Flow)]


def reading(n: int, **extra: Any) -> Reading:
    return Reading(device="flow-1", kind=Kind.FLOW, ts=datetime.now(UTC), fields={"period_s": 60, "in": n, "out": 0},
                   state={"in": n}, **extra)


def kept_entry(box: Outbox, n: int, *, numbered: bool, held: bool = False,
               at: tuple[float, float] = (0.0, 0.0)) -> Kept:
    entry = Kept(n, reading(n), held, at, f"eldercare/v1/{box.station}/flow-1/flow")
    if numbered:
        entry.seq = box.reserve_seq("flow-1")
        entry.payload = box.encode(entry.reading, entry.seq)
    return entry


def test_bad_lines_are_skipped_and_reported(mosquitto: Mosquitto, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    config = station_config(mosquitto.port, tmp_path, [])
    outbox = config.agent.outbox
    box = Outbox(outbox, config.station, fsync=False)
    good = line(kept_entry(box, 1, numbered=True), box)
    foreign = Outbox(tmp_path / "other.sqlite3", "qd-other", fsync=False)
    stranger = line(kept_entry(foreign, 2, numbered=True), foreign)
    box.close()
    foreign.close()
    save(side_file(outbox), [good, b'{"topic": "eldercare/v1/qd-test-01/flow-1/flow", "payl', stranger])
    subscriber = subscribe(mosquitto, f"eldercare/v1/{config.station}/#")
    with caplog.at_level(logging.INFO), AgentThread(Agent(config, fsync=False, kernel=lambda: None)):
        poll(lambda: subscriber.of_kind("health", OUTBOX_DEVICE) and subscriber.of_kind("flow"), 30,
             "the kept reading and the outbox's report")
    assert [str(d.message.id) for d in subscriber.of_kind("flow")] == [json.loads(json.loads(good)["payload"])["id"]]
    (report,) = [d.message for d in subscriber.of_kind("health", OUTBOX_DEVICE)]
    assert report.ok is False and report.error == "readings kept at the last stop in outbox.sqlite3.pending.jsonl: " \
        "2 lines skipped"
    assert report.detail == {"pending_restored": 1, "pending_skipped": 2}
    skipped = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and "skipped" in r.getMessage()]
    assert len(skipped) == 2 and "line 2" in skipped[0] and "line 3" in skipped[1] and "qd-other" in skipped[1]
    assert not side_file(outbox).exists()


def test_two_stops_in_a_row_keep_both_sets_and_a_held_reading_stays_held(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite3", "qd-a", fsync=False)
    first = [kept_entry(box, n, numbered=True) for n in range(3)]
    path = side_file(box.path)
    assert save(path, [line(e, box) for e in first]) == 3
    # The second stop: a numbered reading and one read while the clock was untrusted (held: never numbered).
    mono = 1000.0
    second = [kept_entry(box, 3, numbered=True), kept_entry(box, 4, numbered=False, held=True, at=(5.0, mono))]
    assert save(path, [line(e, box) for e in second]) == 2
    last = box.seqs()["flow-1"]
    box.close()

    fresh = Outbox(tmp_path / "fresh.sqlite3", "qd-a", fsync=False, wall=lambda: mono + 60, monotonic=lambda: mono + 60)
    done = restore(fresh, path)
    assert done is not None and (done.restored, done.skipped) == (5, 0) and not path.exists()
    assert fresh.held_count() == 1  # stays held until the clock is trusted
    assert fresh.state("flow-1") == {"in": 4}  # the newest kept reading's state: a counter resumes from it
    assert fresh.release_held() == 1
    events = {json.loads(r.payload)["seq"]: json.loads(r.payload) for r in fresh.batch(10)}
    assert sorted(events)[:4] == [e.seq for e in first + second[:1]]  # their own seqs, in order
    assert [json.loads(e.payload or b"")["id"] for e in first + second[:1]] == \
        [events[s]["id"] for s in sorted(events)[:4]]
    held = events[max(events)]
    assert max(events) == last + 1  # the unnumbered one takes the device's next number
    # Re-stamped from its monotonic time as any held event: read at (wall 5, mono 1000), now wall - mono = 0.
    assert datetime.fromisoformat(held["ts"]) == \
        second[1].reading.ts + timedelta(seconds=0 - (5.0 - mono))
    fresh.close()


def test_a_side_file_that_cannot_be_stored_stays(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite3", "qd-a", fsync=False)
    path = side_file(box.path)
    save(path, [line(kept_entry(box, 1, numbered=False), box)])
    box.cap_pages(box.pages)
    for n in range(2, 200):  # fill the card
        try:
            box.put(reading(n))
        except sqlite3.OperationalError:
            break
    done = restore(box, path)
    assert done is not None and done.restored == 0 and done.problem is not None and path.exists()
    assert "database or disk is full" in str(done.detail()["pending_problem"])
    assert parse(path.read_bytes(), "qd-a")[0] and not parse(path.read_bytes(), "qd-b")[0]
    box.close()


def test_the_clock_guards_release_finds_the_damage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Held events waiting for the clock; the file damaged meanwhile; the clock trusted again: the release reads the
    damaged page and the agent stops with the one ERROR line."""
    base = station_config(1, tmp_path, [])
    config = base.model_copy(update={"agent": base.agent.model_copy(update={"clock_check": "ntp"})})
    outbox = config.agent.outbox
    box = Outbox(outbox, config.station, fsync=False)
    for n in range(300):
        box.put(reading(n), held=True)
    box.close()
    synced = False
    agent = Agent(config, fsync=False, kernel=lambda: KernelClock(synced, 0.0), clock_poll_s=0.05)
    thread = AgentThread(agent)
    with caplog.at_level(logging.INFO):
        thread.thread.start()
        poll(lambda: "holding events" in caplog.text, 30, "the clock guard holding events")
        poll(lambda: damage_under(outbox, table_page), 30, "the outbox table's first page damaged")
        synced = True  # NTP has set the clock: the next poll releases the held events
        thread.thread.join(30)
        assert not thread.thread.is_alive(), "the agent went on with a damaged outbox"
    assert isinstance(thread.error, OutboxFailed)
    assert str(thread.error).startswith(f"outbox {outbox} is damaged while running (DatabaseError: database disk "
                                        "image is malformed): stopping with exit status 1")
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert said == [str(thread.error)]
