"""`eldercare cloud record-loss`: a store restored from a backup lost what was received after the backup. Recorded by
hand, the window is one the derivations read like the ingester's own (every station's days in it re-derived in its
own zone, its spot checks not judged on the sensors); a window that cannot be meant is refused before anything is
written."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.derive.storeio import load_losses
from cloud.ingest.record_loss import record_loss
from cloud.store.ingest_losses import IngestLoss
from cloud.store.models import DirtyStationDay, Station
from cloud.store.options import open_store


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ELDERCARE_DATABASE_URL", raising=False)
    engine = open_store(f"sqlite:///{tmp_path / 'eldercare.db'}", create=True)  # a platform that ran
    with Session(engine) as session, session.begin():
        for sid, zone in (("qd-a", "Asia/Shanghai"), ("ur-c", "Asia/Urumqi")):
            session.add(Station(id=sid, name=sid, town="汇龙镇", grade="3A", weekdays="1,2,3,4,5",
                                hours="08:30-11:30", timezone=zone))
    engine.dispose()
    return tmp_path


def run(data: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(record_loss, [*args, "--data-dir", str(data)])
    return result.exit_code, result.output


def test_a_restore_is_recorded_as_the_platforms_loss(data: Path) -> None:
    # The backup at 03:00 on 1 December in Shanghai, the platform taking messages again at 09:30 on the 2nd.
    code, output = run(data, "--from", "2026-12-01T03:00+08:00", "--to", "2026-12-02T09:30+08:00")
    assert code == 0, output
    assert "2026-11-30 19:00 to 2026-12-02 01:30 UTC" in output
    engine = open_store(f"sqlite:///{data / 'eldercare.db'}")
    with Session(engine) as session:
        (loss,) = session.scalars(select(IngestLoss))
        assert (loss.client_id, loss.reason) == ("operator", "restored_from_backup")
        assert loss.lost_from == datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
        # What the worker reads for any station's day in it.
        start = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
        assert load_losses(session, start, start + 86400) == [(loss.lost_from.timestamp(), loss.lost_to.timestamp())]
        dirty = {(d.station_id, d.local_date) for d in session.scalars(select(DirtyStationDay))}
    engine.dispose()
    # Each station's own local days: the 1st and 2nd in Shanghai, and in Urumqi (two hours behind) from the 30th.
    assert {("qd-a", date(2026, 12, 1)), ("qd-a", date(2026, 12, 2))} <= dirty
    assert ("ur-c", date(2026, 11, 30)) not in dirty and ("ur-c", date(2026, 12, 1)) in dirty


@pytest.mark.parametrize(("window", "said"), [
    (("--from", "2026-12-01T03:00", "--to", "2026-12-02T09:30+08:00"), "has no offset"),
    (("--from", "2026-12-02T09:30+08:00", "--to", "2026-12-01T03:00+08:00"), "must be after --from"),
    (("--from", "2026-12-01T03:00+08:00", "--to", "2999-01-01T00:00Z"), "in the future"),
    (("--from", "yesterday", "--to", "2026-12-01T03:00+08:00"), "not an ISO 8601 time"),
    (("--from", "2024-01-01T00:00Z", "--to", "2026-12-01T03:00+08:00"), "longer than 366 days"),
])
def test_a_window_that_cannot_be_meant_is_refused_and_nothing_written(data: Path, window: tuple[str, ...],
                                                                      said: str) -> None:
    code, output = run(data, *window)
    assert code == 2 and said in output
    engine = open_store(f"sqlite:///{data / 'eldercare.db'}")
    with Session(engine) as session:
        assert session.scalars(select(IngestLoss)).first() is None
    engine.dispose()
