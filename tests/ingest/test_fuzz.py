"""Hypothesis-fuzzed payloads: never a crash; every message ends up stored or dead-lettered with a reason."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select

from cloud.convert import Accepted, Rejected, convert
from cloud.ingest.letters import Letter
from cloud.ingest.stations import StationCache
from cloud.ingest.writer import write_batch
from cloud.store.models import DeadLetter, Event
from tests.ingest.conftest import count, prepare, publish, running_ingester
from tests.localservices import Mosquitto
from tests.wait import poll

TOPICS = ["eldercare/v1/qd-a/door-1/door", "eldercare/v1/qd-a/flow-1/flow", "eldercare/v1/qd-a/cam-1/face",
          "eldercare/v1/qd-a/call-1/call", "eldercare/v1/qd-a/door-1/health", "eldercare/v1/qd-a/agent/status",
          "eldercare/v1/qd-a/agent/heartbeat", "eldercare/v1/qd-b/door-1/door", "eldercare/v1/qd-a/x/bogus",
          "elsewhere/v1/qd-a/door-1/door"]  # the last one only in-process: the ingester does not subscribe to it

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
VALID_ID = "01a20674-c881-75d3-93b0-05392494afb7"
VALID = {"v": 1, "id": VALID_ID, "station": "qd-a", "device": "door-1", "seq": 1,
         "ts": "2026-10-12T08:31:05.120+08:00", "state": "open"}
mutated = st.builds(
    lambda changes, drop: json.dumps({**{k: v for k, v in VALID.items() if k not in drop}, **changes}).encode(),
    st.dictionaries(st.sampled_from([*VALID, "in", "out", "online", "call", "action", "person"]), json_values,
                    max_size=3),
    st.sets(st.sampled_from(list(VALID)), max_size=2),
)
payloads = st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()) | mutated


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = prepare(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")
    yield engine
    engine.dispose()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(st.tuples(st.sampled_from(TOPICS), payloads), min_size=1, max_size=8))
def test_fuzzed_messages_are_stored_or_dead_lettered_never_lost(store: Engine,
                                                                messages: list[tuple[str, bytes]]) -> None:
    with store.begin() as c:
        c.execute(delete(Event))
        c.execute(delete(DeadLetter))
    stations = StationCache(store)
    now = datetime.now(UTC)
    accepted: list[tuple[Accepted, str, bytes]] = []
    letters: list[Letter] = []
    for topic, payload in messages:
        # A fresh id per message, so that two mutated copies of one payload are not one event.
        payload = payload.replace(VALID_ID.encode(), str(uuid.uuid4()).encode())
        outcome = convert(topic, payload, now, stations)
        if isinstance(outcome, Accepted):
            accepted.append((outcome, topic, payload))
        elif isinstance(outcome, Rejected):
            assert outcome.reason
            letters.append(Letter(topic, payload, now, outcome))
    result = write_batch(store, accepted, letters, now)
    with store.connect() as c:
        reasons = c.execute(select(DeadLetter.reason)).scalars().all()
    # Status/heartbeat ids derive from their ts, so two equal ones in a batch are one event.
    assert count(store, Event) == result.stored and result.stored + result.duplicates == len(accepted)
    assert len(reasons) == len(letters) and all(reasons)


invalid = st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode())  # never a valid message


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(st.tuples(st.sampled_from(TOPICS[:-1]), invalid), min_size=20, max_size=40))
def test_fuzzed_payloads_through_the_broker_never_stop_the_ingester(mosquitto: Mosquitto, tmp_path: Path,
                                                                   messages: list[tuple[str, bytes]]) -> None:
    engine = prepare(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}")
    with running_ingester(mosquitto, engine) as ingester:
        publish(mosquitto, messages)
        poll(lambda: count(engine, DeadLetter) == len(messages), what="every message dead-lettered")
        publish(mosquitto, [("eldercare/v1/qd-a/door-1/door", json.dumps(VALID).encode())])
        poll(lambda: count(engine, Event) == 1, what="a valid message after the garbage")
    assert ingester.totals["dead_letters"] == len(messages)
    with engine.connect() as c:
        stored = sorted((r.topic, bytes(r.payload), bool(r.reason)) for r in c.execute(select(DeadLetter)))
    assert stored == sorted((topic, payload, True) for topic, payload in messages)
    engine.dispose()
