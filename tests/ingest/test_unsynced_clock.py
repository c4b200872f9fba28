"""Readings the agent could not re-stamp (taken in a boot that ended before NTP set the Pi's clock) arrive marked
`"clock": "unsynced"`: ingest stores them as clock faults, on each dialect, and marks no station-day for them."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, select

from cloud.convert import Accepted, convert
from cloud.ingest.stations import StationCache
from cloud.ingest.writer import write_batch
from cloud.store.models import DirtyStationDay, Event
from station_protocol import Flow, encode, new_event_id

BOOT_CLOCK = datetime(2026, 10, 12, 8, 17, tzinfo=UTC)  # what fake-hwclock last saved: Monday 16:17 in Shanghai
RECEIVED = datetime(2026, 10, 13, 0, 56, tzinfo=UTC)  # Tuesday 08:56: the next boot, the clock right, sends them


def _flow(seq: int, ts: datetime, unsynced: bool) -> tuple[str, bytes]:
    message = Flow.model_validate({"v": 1, "id": uuid.UUID(new_event_id()), "station": "qd-a",
                                   "device": "counter-1", "seq": seq, "ts": ts, "period_s": 60, "in": 1, "out": 0})
    payload = json.loads(encode(message))
    if unsynced:
        payload["clock"] = "unsynced"
    return "eldercare/v1/qd-a/counter-1/flow", json.dumps(payload).encode()


def test_readings_marked_unsynced_are_stored_as_clock_faults_and_dirty_no_day(engine: Engine) -> None:
    stations = StationCache(engine)
    messages = [_flow(i, BOOT_CLOCK + timedelta(minutes=i), unsynced=True) for i in range(1, 4)]
    messages.append(_flow(10, RECEIVED - timedelta(seconds=30), unsynced=False))  # this boot's, stamped right
    batch = []
    for topic, payload in messages:
        outcome = convert(topic, payload, RECEIVED, stations)
        assert isinstance(outcome, Accepted), outcome
        batch.append((outcome, topic, payload))
    assert [a.row["clock_fault"] is not None for a, _, _ in batch] == [True, True, True, False]
    assert "not synchronised" in str(batch[0][0].row["clock_fault"])
    write_batch(engine, batch, [], RECEIVED)
    with engine.connect() as c:
        faults = c.execute(select(Event.seq).where(Event.clock_fault.is_not(None)).order_by(Event.seq)).scalars()
        days = {(s, d) for s, d in c.execute(select(DirtyStationDay.station_id, DirtyStationDay.local_date))}
    assert list(faults) == [1, 2, 3]  # kept, never lost
    assert days == {("qd-a", date(2026, 10, 13))}  # Tuesday (this boot's reading) only: Monday is not re-judged
