"""The outbox file damaged under a running agent: whether a reading's write, the drain's read or the delete of
acknowledged rows finds the damage, the agent stops with one ERROR line naming the file and the reason and exit
status 1 (systemd's `Restart=always` starts it again); started again (`eldercare edge run`, a simulated Modbus
counter, a network outage), the check at start moves the file aside, everything that still reads and every reading
that waited in memory at the stop (kept in the side file beside the outbox) reaches the broker once, and numbering
continues above every old number."""

import contextlib
import json
import logging
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge.agent import Agent, OutboxFailed
from edge.drivers.base import Reading
from edge.outbox import Outbox
from edge.publisher import Publisher
from firmware_config.station import MqttConfig
from simulators.modbus_counter import ModbusCounterSim, SimCounter
from station_protocol import Flow, Health, Kind, decode
from tests.edge.conftest import AgentThread, Subscriber, station_config, subscribe
from tests.edge.test_outbox_repair import old_outbox
from tests.localservices import Mosquitto
from tests.wait import poll

STATION = "qd-damage-01"


def start_agent(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "eldercare", "edge", "run", "--config", str(config)],
                                stdout=out, stderr=subprocess.STDOUT)


def stored(outbox: Path, device: str) -> int:
    with contextlib.closing(sqlite3.connect(outbox, timeout=5)) as db:
        return int(db.execute("SELECT count(*) FROM outbox WHERE device = ?", (device,)).fetchone()[0])


def numbers_page(db: sqlite3.Connection) -> int:
    """The page of each device's last number (`device_seq`: one page for a few devices), read at every write."""
    return int(db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'device_seq'").fetchone()[0])


def table_page(db: sqlite3.Connection) -> int:
    """The first page of the outbox table, which every read of a row and every delete goes through."""
    return int(db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'outbox'").fetchone()[0])


def backlog_page(db: sqlite3.Connection) -> int:
    """A page of older events in the middle of the backlog, read when the drain reaches it."""
    leaves = [p for (p,) in db.execute("SELECT pageno FROM dbstat WHERE name = 'outbox' AND pagetype = 'leaf' "
                                       "ORDER BY pageno")]
    return int(leaves[len(leaves) // 4])


def damage_under(outbox: Path, page_of: Callable[[sqlite3.Connection], int]) -> bool:
    """Garbage over one page of the file, which the running agent reads from the file next time it needs it.

    A running connection serves the pages it read from its own cache (2 MB) until another connection changes the
    file; a long-running agent reads a page from the card again once its cache no longer holds it. Here a second
    connection makes that happen at once: it moves the write-ahead log into the file, takes the write lock (False,
    to try again, if the agent wrote in between), puts garbage over the page and commits one harmless change, after
    which the agent reads every page afresh."""
    db = sqlite3.connect(outbox, timeout=10, isolation_level=None)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("BEGIN IMMEDIATE")
        if Path(f"{outbox}-wal").stat().st_size:
            db.execute("ROLLBACK")
            return False
        page = page_of(db)
        (size,) = db.execute("PRAGMA page_size").fetchone()
        with outbox.open("r+b") as f:
            f.seek((page - 1) * size)
            f.write(b"\xff" * size)
        db.execute("PRAGMA user_version = 1")
        db.execute("COMMIT")
        return True
    finally:
        db.close()


def waiting(outbox: Path) -> dict[str, Any]:
    """Every event in the damaged file that still reads (looked up by its row id, one at a time), by event id."""
    found: dict[str, Any] = {}
    with contextlib.closing(sqlite3.connect(outbox)) as db:
        (last,) = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        for row_id in range(1, last + 1):
            try:
                row = db.execute("SELECT topic, payload FROM outbox WHERE id = ?", (row_id,)).fetchone()
            except sqlite3.DatabaseError:
                continue
            message: Any = decode(row[0], bytes(row[1])).message if row else None
            if hasattr(message, "seq"):
                found[str(message.id)] = message
    return found


def last_numbers(outbox: Path) -> list[int]:
    """Each device's last number, if they still read."""
    with contextlib.closing(sqlite3.connect(outbox)) as db:
        try:
            return [int(s) for (s,) in db.execute("SELECT seq FROM device_seq")]
        except sqlite3.DatabaseError:
            return []


def received(subscriber: Subscriber) -> list[Any]:
    with subscriber.lock:
        messages = [m.decoded().message for m in subscriber.messages if f"/{STATION}/agent/" not in m.topic]
    return messages


@pytest.mark.parametrize("where", ["numbers", "backlog"])
def test_damage_under_a_running_agent(where: str, mosquitto: Mosquitto, tmp_path: Path) -> None:
    """`numbers`: the next reading's write finds the damage (the broker still away); `backlog`: the drain does, once
    the broker is back."""
    home = tmp_path / "station"
    home.mkdir()
    outbox, log, config = home / "outbox.sqlite3", home / "agent.log", home / "station.yaml"
    old_outbox(outbox, STATION)  # 600 events of flow-1 and door-1 from before
    unit = SimCounter(1)
    with ModbusCounterSim([unit], home / "ttyUSB0") as sim:
        config.write_text(yaml.safe_dump({
            "station": STATION, "name": "损坏测试站", "grade": "2A", "town": "汇龙镇", "address": "x",
            "mqtt": {"host": "127.0.0.1", "port": mosquitto.port, "tls": False, "password_env": None,
                     "reconnect_min_s": 0.2, "reconnect_max_s": 0.5},
            "agent": {"outbox": str(outbox), "clock_check": "year"},
            "devices": [{"type": "counter", "id": "flow-2", "port": str(sim.port), "unit": 1, "interval_s": 0.1,
                         "timeout_s": 0.2}],
        }, allow_unicode=True))
        mosquitto.stop()  # a network outage: the events wait in the outbox
        agent = start_agent(config, log)
        try:
            unit.add(4, 1)
            poll(lambda: stored(outbox, "flow-2") >= 5, 30, "counts stored through the outage")
            page_of = numbers_page if where == "numbers" else backlog_page
            poll(lambda: damage_under(outbox, page_of), 30, "the page damaged between two writes")
            unit.add(3, 0)
            if where == "backlog":
                mosquitto.start()  # the drain reads the damaged page
                subscriber = subscribe(mosquitto, f"eldercare/v1/{STATION}/#")
            # The agent stops: it neither keeps its readings in memory for ever nor goes on with a damaged file.
            poll(lambda: agent.poll() is not None, 30, lambda: "the agent to stop:\n" + log.read_text()[-3000:])
            said = log.read_text()
            assert agent.returncode == 1, said[-3000:]  # non-zero (the unit restarts it with Restart=always)
            (line,) = [s for s in said.splitlines() if " ERROR " in s and "while running" in s]
            assert f"outbox {outbox} is damaged while running (DatabaseError: database disk image is malformed)" \
                in line and "stopping with exit status 1" in line
            assert "Traceback" not in said  # one clear line (and click's "Error:" with it), not a stack
            # What waited in memory (at least the reading whose write found the damage) is kept beside the outbox.
            pending = home / "outbox.sqlite3.pending.jsonl"
            kept = [json.loads(json.loads(raw)["payload"]) for raw in pending.read_bytes().splitlines()] \
                if pending.exists() else []
            if kept or where == "numbers":
                assert kept and line.endswith(f"readings waiting in memory kept in {pending} for the next start: "
                                              f"{len(kept)}")
            else:  # the drain found it: nothing waited in memory
                assert line.endswith("; no readings waiting in memory")

            before = waiting(outbox)  # what still reads in the damaged file
            old = [m for m in before.values() if m.device != "flow-2"]
            assert len(old) == 600 if where == "numbers" else 500 < len(old) < 600
            assert any(m.device == "flow-2" for m in before.values())
            highest = max([m.seq for m in before.values()] + last_numbers(outbox))
            if where == "numbers":
                mosquitto.start()
                subscriber = subscribe(mosquitto, f"eldercare/v1/{STATION}/#")
            agent = start_agent(config, log)
            restarted = len(received(subscriber))
            assert poll(lambda: not pending.exists() or agent.poll() is not None, 30, "the kept readings stored")
            poll(lambda: set(before) <= {str(m.id) for m in received(subscriber)}, 60,
                 lambda: f"what still read to reach the broker: {len(received(subscriber))} of {len(before)}")
            poll(lambda: {k["id"] for k in kept} <= {str(m.id) for m in received(subscriber)}, 30,
                 "the readings kept in memory at the stop to reach the broker")
            unit.add(2, 0)
            people = unit.people_in
            poll(lambda: counted(received(subscriber)) == people, 30,
                 lambda: f"every person counted: {counted(received(subscriber))} of {people}")
            poll(lambda: any(isinstance(m, Health) and m.device == "outbox" for m in received(subscriber)), 30,
                 "the outbox's report of the repair")
        finally:
            if agent.poll() is None:
                agent.send_signal(signal.SIGTERM)
                agent.wait(15)
    assert agent.returncode == 0, log.read_text()[-3000:]

    messages = received(subscriber)
    if where == "numbers":  # one connection, never lost: each event on the wire once
        copies = Counter(str(m.id) for m in messages)
        assert all(copies[i] == 1 for i in before), "an event that still read arrived twice"
        assert all(copies[k["id"]] == 1 for k in kept), "a reading kept at the stop arrived twice"
    ids_by_seq: dict[tuple[str, int], set[str]] = {}
    for m in messages:
        if hasattr(m, "seq"):
            ids_by_seq.setdefault((m.device, m.seq), set()).add(str(m.id))
    assert all(len(ids) == 1 for ids in ids_by_seq.values()), "one seq, two events"
    new = [m for m in messages[restarted:] if hasattr(m, "seq") and str(m.id) not in before]
    assert new and all(m.seq > highest for m in new), "numbering continues above every old number"
    (report,) = [m for m in messages if isinstance(m, Health) and m.device == "outbox"]
    assert report.ok is False and report.error is not None and "outbox file damaged" in report.error
    moved = [p for p in home.iterdir() if ".damaged-" in p.name and not p.name.endswith(("-wal", "-shm"))]
    assert len(moved) == 1 and report.detail is not None and report.detail["moved_to"] == str(moved[0])
    salvaged = report.detail["salvaged"]
    assert isinstance(salvaged, int) and salvaged >= len(before)
    if kept:
        assert report.detail["pending_restored"] == len(kept) and report.detail["pending_skipped"] == 0


def counted(messages: list[Any]) -> int:
    """People in, from flow-2's events (each once by its id, as the cloud stores them) since its first reading's
    baseline; the reading that found the damage is delivered from the side file, with the counter state it carries
    (so the restarted counter does not count it again)."""
    flows = sorted({str(m.id): m for m in messages if isinstance(m, Flow) and m.device == "flow-2"}.values(),
                   key=lambda f: f.seq)
    if not flows:
        return -1
    return (flows[0].counter_in or 0) - flows[0].in_ + sum(f.in_ for f in flows)


def test_the_drain_stops_the_agent_at_a_damaged_page(mosquitto: Mosquitto, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    base = station_config(mosquitto.port, tmp_path, [])
    config = base.model_copy(update={"mqtt": base.mqtt.model_copy(update={"reconnect_min_s": 0.2,
                                                                           "reconnect_max_s": 0.5})})
    outbox = config.agent.outbox
    old_outbox(outbox, config.station)
    mosquitto.stop()  # the backlog waits, unread, until the broker is back
    thread = AgentThread(Agent(config, fsync=False, kernel=lambda: None))
    with caplog.at_level(logging.INFO):
        thread.thread.start()
        poll(lambda: "600 events waiting in the outbox" in caplog.text, 30, "the agent started")
        poll(lambda: damage_under(outbox, table_page), 30, "the outbox table's first page damaged")
        mosquitto.start()
        thread.thread.join(30)  # the drain's first read finds the damage
        assert not thread.thread.is_alive(), "the agent went on with a damaged outbox"
    assert isinstance(thread.error, OutboxFailed)
    assert f"outbox {outbox} is damaged while running (DatabaseError: database disk image is malformed)" \
        in str(thread.error)
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert said == [str(thread.error)]


def test_a_delete_on_a_damaged_page_is_not_retried_for_ever(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", "qd-a", fsync=False)
    for n in range(300):
        box.put(Reading(device="flow-1", kind=Kind.FLOW, ts=datetime.now(UTC),
                        fields={"period_s": 60, "in": n, "out": 0}))
    sent = [r.id for r in box.batch(300)]
    poll(lambda: damage_under(box.path, table_page), 30, "the outbox table's first page damaged")
    publisher = Publisher("qd-a", MqttConfig(host="127.0.0.1", port=1, tls=False, password_env=None), box)
    publisher._acked = sent  # the broker acknowledged them (no broker needed for the delete)
    # Raised (the agent stops on it, as in the test above) instead of kept and tried again every 50 ms for ever.
    with pytest.raises(sqlite3.DatabaseError, match="malformed"):
        publisher._flush()
    box.close()
