"""One station's bad stored data never stops the worker for the others (SQLite and PostgreSQL): the station's
recompute is logged and counted, its dirty days stay for a retry, and every other station is derived."""

import dataclasses
import json
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, select

from cloud.convert import Accepted, convert
from cloud.derive.runner import Partition, run_pass
from cloud.ingest.writer import write_batch
from cloud.rules.config import RulesConfig
from cloud.store.db import make_session_factory
from cloud.store.derived import DayResult
from cloud.store.models import DirtyStationDay
from station_protocol import Flow, encode, new_event_id
from tests.derive.conftest import lookup

TS = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday


def _flow(station: str, n_in: int) -> Accepted:
    message = Flow(v=1, id=uuid.UUID(new_event_id()), station=station, device="flow-1", seq=1, ts=TS, period_s=60,
                   in_=min(n_in, 1), out=0)
    outcome = convert(f"eldercare/v1/{station}/flow-1/flow", encode(message), TS, lookup)
    assert isinstance(outcome, Accepted), outcome
    if n_in == 1:
        return outcome
    # Stored before ingest bounded the counts (or by any other way in): the payload as the store holds it.
    return dataclasses.replace(outcome, payload_text=json.dumps({**json.loads(outcome.payload_text), "in": n_in}))


def test_a_count_beyond_64_bits_stored_for_one_station_stops_only_that_station(store: Engine) -> None:
    write_batch(store, [(item, "", b"") for item in (_flow("qd-a", 10**19), _flow("qd-b", 1))], [], TS)
    factory = make_session_factory(store)
    stats = run_pass(factory, Partition(), RulesConfig(), TS + timedelta(hours=12))
    assert stats.errors >= 1 and any(m.startswith("station qd-a: ") for m in stats.messages), stats.messages
    with factory() as session:
        derived = set(session.execute(select(DayResult.station_id, DayResult.local_date)).tuples())
        dirty = set(session.execute(select(DirtyStationDay.station_id, DirtyStationDay.local_date)).tuples())
    assert ("qd-b", date(2026, 10, 12)) in derived
    assert ("qd-a", date(2026, 10, 12)) not in derived and ("qd-a", date(2026, 10, 12)) in dirty  # kept for a retry
