"""The window an ingester records when it finds its session gone, in each case it knows of, and a store that refuses
the write: the loss waits in the ingester and is written once the store answers again, never dropped."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.ingest.clients import UNKNOWN, History
from cloud.ingest.losses import Loss
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import IngestConfig, Ingester
from cloud.store.db import make_engine
from cloud.store.ingest_losses import IngestLoss
from cloud.store.migrate import upgrade

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CONNECTED = NOW - timedelta(days=5)
STOPPED = NOW - timedelta(days=4)


def _ingester(path: Path) -> Ingester:
    # Never started: only its bookkeeping of losses is exercised (the broker-side cases run in test_session_expiry).
    return Ingester(IngestConfig(client_id="ing-1", session_expiry_s=3600), make_engine(f"sqlite:///{path}"),
                    lambda _: None, IngestMetrics(), clock=lambda: NOW)


def test_the_window_in_each_case(tmp_path: Path) -> None:
    ingester = _ingester(tmp_path / "s.db")
    ingester._generation = 1
    ingester._history = History(True, CONNECTED, STOPPED)  # stopped gracefully after its last connection
    assert ingester._loss_window(NOW) == Loss("ing-1", STOPPED, NOW, "lost_while_away")
    ingester._history = History(True, STOPPED, CONNECTED)  # its last stop is older than its last connection: a crash
    assert ingester._loss_window(NOW) == Loss("ing-1", STOPPED, NOW, "lost_while_away")
    ingester._history = History(True, CONNECTED, None)  # never stopped gracefully
    assert ingester._loss_window(NOW) == Loss("ing-1", CONNECTED, NOW, "lost_while_away")
    ingester._history = UNKNOWN  # the store could not say: the expiry before now, at least
    assert ingester._loss_window(NOW) == Loss("ing-1", NOW - timedelta(hours=1), NOW, "history_unknown")
    ingester._generation = 2  # a running ingester's reconnect: from the link's drop
    ingester._connected_at, ingester._link_lost_at = NOW - timedelta(hours=3), NOW - timedelta(minutes=7)
    assert ingester._loss_window(NOW) == Loss("ing-1", NOW - timedelta(minutes=7), NOW, "lost_while_running")


def test_a_loss_the_store_refuses_waits_and_is_written_when_it_answers(tmp_path: Path) -> None:
    ingester = _ingester(tmp_path / "s.db")  # not migrated yet: every write fails as with a database away
    loss = Loss("ing-1", STOPPED, NOW, "lost_while_away")
    ingester._losses.append(loss)
    ingester._record_losses()
    assert ingester._losses == [loss]
    assert ingester._losses_retry_at > 0  # the next try waits LOSS_RETRY_S, not every batch tick
    ingester._record_losses()
    assert ingester._losses == [loss]
    upgrade(ingester.engine)
    ingester._losses_retry_at = 0.0  # the interval has passed
    ingester._record_losses()
    assert ingester._losses == []
    with Session(ingester.engine) as session:
        assert [(r.client_id, r.lost_from, r.lost_to, r.reason) for r in session.scalars(select(IngestLoss))] == [
            ("ing-1", STOPPED, NOW, "lost_while_away")]
