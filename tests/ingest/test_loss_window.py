"""The window an ingester records when it finds its session gone, in each case it knows of, and a store that refuses
the write: the loss waits in the ingester and is written once the store answers again, never dropped."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.ingest.clients import UNKNOWN, History, history, note_connected
from cloud.ingest.config import IngestConfig
from cloud.ingest.losses import Loss
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.session import ALIVE_EVERY_S, SessionWatch
from cloud.store.db import make_engine
from cloud.store.ingest_losses import IngestLoss
from cloud.store.migrate import upgrade

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CONNECTED = NOW - timedelta(days=5)
STOPPED = NOW - timedelta(days=4)


def _watch(path: Path) -> SessionWatch:
    # No broker: only the ingester's bookkeeping of losses is exercised (the broker-side cases run in
    # test_session_expiry).
    return SessionWatch(IngestConfig(client_id="ing-1", session_expiry_s=3600), make_engine(f"sqlite:///{path}"),
                        IngestMetrics(), clock=lambda: NOW)


def test_the_window_in_each_case(tmp_path: Path) -> None:
    watch = _watch(tmp_path / "s.db")  # asks for a session expiry of 1 h
    watch._generation = 1
    back = STOPPED + timedelta(minutes=20)  # back within the expiry
    watch._history = History(True, CONNECTED, STOPPED)  # stopped gracefully after its last connection
    assert watch._loss_window(back) == Loss("ing-1", STOPPED, back, "lost_while_away")
    watch._history = History(True, STOPPED, CONNECTED)  # its last stop is older than its last connection: a crash
    assert watch._loss_window(back) == Loss("ing-1", STOPPED, back, "lost_while_away")
    watch._history = History(True, CONNECTED, None)  # never stopped gracefully, nothing later kept
    assert watch._loss_window(back) == Loss("ing-1", CONNECTED, CONNECTED + timedelta(hours=1),
                                               "lost_while_away")
    watch._history = UNKNOWN  # the store could not say: the expiry before now, at least
    assert watch._loss_window(NOW) == Loss("ing-1", NOW - timedelta(hours=1), NOW, "history_unknown")
    watch._generation = 2  # a running ingester's reconnect: from the link's drop
    watch._connected_at, watch._link_lost_at = NOW - timedelta(hours=3), NOW - timedelta(minutes=7)
    assert watch._loss_window(NOW) == Loss("ing-1", NOW - timedelta(minutes=7), NOW, "lost_while_running")


def test_a_crash_after_weeks_of_work_loses_from_the_last_sign_of_work_not_from_the_connection(tmp_path: Path) -> None:
    # Connected five days ago, seen working until an hour ago, then killed: the messages taken and committed in those
    # five days are in the store; only what was dealt after its last sign of work can be lost.
    watch = _watch(tmp_path / "s.db")
    watch._generation = 1
    alive = NOW - timedelta(hours=1)
    watch._history = History(True, CONNECTED, None, alive, 7200)
    assert watch._loss_window(NOW) == Loss("ing-1", alive - timedelta(seconds=ALIVE_EVERY_S), NOW,
                                              "lost_while_away")


def test_an_ingester_back_after_its_session_expired_loses_only_until_the_expiry(tmp_path: Path) -> None:
    # Stopped four days ago with a 1 h expiry: the broker dealt its session messages for an hour, then dropped it and
    # dealt everything to the group's other members. The window is that hour, not four days of every station's
    # spot checks taken off the sensors; the expiry is the one the lost session asked for, not this run's.
    watch = _watch(tmp_path / "s.db")
    watch._generation = 1
    watch._history = History(True, CONNECTED, STOPPED, STOPPED, 3600)
    assert watch._loss_window(NOW) == Loss("ing-1", STOPPED, STOPPED + timedelta(hours=1), "lost_while_away")
    watch._history = History(True, CONNECTED, STOPPED, STOPPED, 3 * 86400)  # it had asked for three days
    assert watch._loss_window(NOW) == Loss("ing-1", STOPPED, STOPPED + timedelta(days=3), "lost_while_away")
    watch._generation = 2  # a link down for two hours while running: at most the expiry after the drop
    watch._link_lost_at = NOW - timedelta(hours=2)
    assert watch._loss_window(NOW) == Loss("ing-1", NOW - timedelta(hours=2), NOW - timedelta(hours=1),
                                              "lost_while_running")


def test_a_connected_ingester_records_that_it_works_about_once_a_minute(tmp_path: Path) -> None:
    watch = _watch(tmp_path / "s.db")
    upgrade(watch.engine)
    note_connected(watch.engine, "ing-1", CONNECTED, 3600)
    watch._note_alive()  # not connected (never started): nothing recorded
    assert history(watch.engine, "ing-1").last_alive_at == CONNECTED
    watch._link_up = True
    watch._note_alive()
    assert history(watch.engine, "ing-1").last_alive_at == NOW
    assert watch._alive_due > 0  # the next record waits ALIVE_EVERY_S, not every batch tick


def test_a_loss_the_store_refuses_waits_and_is_written_when_it_answers(tmp_path: Path) -> None:
    watch = _watch(tmp_path / "s.db")  # not migrated yet: every write fails as with a database away
    loss = Loss("ing-1", STOPPED, NOW, "lost_while_away")
    watch._losses.append(loss)
    watch._record_losses()
    assert watch._losses == [loss]
    assert watch._losses_retry_at > 0  # the next try waits LOSS_RETRY_S, not every batch tick
    watch._record_losses()
    assert watch._losses == [loss]
    upgrade(watch.engine)
    watch._losses_retry_at = 0.0  # the interval has passed
    watch._record_losses()
    assert watch._losses == []
    with Session(watch.engine) as session:
        assert [(r.client_id, r.lost_from, r.lost_to, r.reason) for r in session.scalars(select(IngestLoss))] == [
            ("ing-1", STOPPED, NOW, "lost_while_away")]
