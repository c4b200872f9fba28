"""Implausible values through the ingester's own commit path, on each dialect: each bad message becomes a dead letter
with a reason naming the field, counted; the good messages of the same batch are stored, and nothing raises."""

import base64
import json
import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from cloud.ingest.commit import Committer, Inbound
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.stations import StationCache
from cloud.store.models import DeadLetter, Device, Event
from tests.conftest import FACES
from tests.ingest.conftest import Station

NOW = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)


def committed(engine: Engine, messages: list[tuple[str, bytes]]) -> Committer:
    """Convert and commit `messages` as one batch, as the ingester does; returns the committer with its counts."""
    acked: list[Inbound] = []
    committer = Committer(engine, StationCache(engine), IngestMetrics(), None, lambda: NOW, "test-ingest",
                          acked.extend, threading.Event())
    batch = [Inbound(topic, payload, NOW, mid, 1, 0, committer.convert(topic, payload, NOW))
             for mid, (topic, payload) in enumerate(messages, 1)]
    committer.commit_with_retry(batch)
    assert len(acked) == len(messages)
    return committer


def letters(engine: Engine) -> dict[str, str]:
    """Each dead letter's reason, by the start of its topic's last two levels."""
    with engine.connect() as c:
        return {topic.split("/", 3)[3]: reason for topic, reason in c.execute(select(DeadLetter.topic,
                                                                                     DeadLetter.reason))}


def edited(topic_payload: tuple[str, bytes], device: str | None = None, **fields: Any) -> tuple[str, bytes]:
    topic, payload = topic_payload
    data = {**json.loads(payload), **fields}
    if device is not None:  # a device of its own, so each letter is told apart by its topic
        data["device"] = device
        topic = topic.replace(json.loads(payload)["device"], device)
    return topic, json.dumps(data).encode()


def test_implausible_flow_counts_are_dead_letters_and_the_rest_of_the_batch_is_stored(engine: Engine) -> None:
    a = Station("qd-a")
    good = [a.flow(3, ts=NOW), a.call("pressed", "c-1"), a.flow(2, ts=NOW)]
    bad = [edited(a.flow(1, ts=NOW), "flow-big", **{"in": 10**19}),
           edited(a.flow(1, ts=NOW), "flow-3e9", **{"in": 3 * 10**9}),
           edited(a.flow(1, ts=NOW), "flow-out", out=10**19),
           edited(a.flow(1, ts=NOW), "flow-period", period_s=10**19),
           edited(a.flow(1, ts=NOW), "flow-counter", counter_in=2**64)]
    committer = committed(engine, [good[0], *bad, *good[1:]])
    assert committer.totals["stored"] == 3 and committer.totals["dead_letters"] == 5
    assert committer.totals["row_by_row"] == 0  # refused before the store saw it, not by it
    assert committer.metrics.invalid.labels("invalid")._value.get() == 5
    reasons = letters(engine)
    assert reasons["flow-big/flow"].startswith("in: 10000000000000000000 people in 60 s is not a plausible count")
    assert reasons["flow-3e9/flow"].startswith("in: 3000000000 people in 60 s is not a plausible count")
    assert reasons["flow-out/flow"].startswith("out: 10000000000000000000 people in 60 s")
    assert reasons["flow-period/flow"].startswith("period_s: input should be less than or equal to 31622400")
    assert reasons["flow-counter/flow"].startswith("counter_in: input should be less than or equal to")
    with engine.connect() as c:
        assert sorted(p["in"] for p in c.execute(select(Event.payload).where(Event.kind == "flow")).scalars()) == [2, 3]


def test_sequence_numbers_and_heartbeat_figures_beyond_64_bits_are_dead_letters(engine: Engine) -> None:
    # A seq the events table's BIGINT cannot hold used to reach the store and be refused there (the batch retried
    # row by row); an outbox that size reached telemetry. Each is refused first, naming the field.
    a = Station("qd-a")
    beat = a.heartbeat()
    bad = [edited(a.door(ts=NOW), "door-seq", seq=2**63), edited(beat, outbox=2**64)]
    committer = committed(engine, [a.door(ts=NOW), *bad, edited(beat, uptime_s=1e12), beat,
                                   edited(a.door(ts=NOW), "door-max", seq=2**63 - 1)])
    assert committer.totals["stored"] == 3 and committer.totals["dead_letters"] == 3
    assert committer.totals["row_by_row"] == 0
    with engine.connect() as c:
        reasons = sorted(c.execute(select(DeadLetter.reason)).scalars())
        seqs = sorted(s for s in c.execute(select(Event.seq).where(Event.kind == "door")).scalars() if s is not None)
    assert [r.split(":")[0] for r in reasons] == ["outbox", "seq", "uptime_s"]
    assert all("input should be less than or equal to" in r for r in reasons)
    assert seqs[-1] == 2**63 - 1


def test_a_time_at_the_calendars_edge_is_a_clock_fault_letter_not_an_overflow(engine: Engine) -> None:
    a = Station("qd-a")
    edge = {"door-z": "9999-12-31T23:59:59Z", "door-w": "9999-12-31T23:59:59-08:00",
            "door-y": "0001-01-01T00:00:00+08:00", "door-x": "0001-01-01T00:00:00+01:00"}
    messages = [edited(a.door(ts=NOW), device, ts=ts) for device, ts in edge.items()]
    committer = committed(engine, [a.door(ts=NOW), *messages, a.door(ts=NOW - timedelta(minutes=1))])
    assert committer.totals["stored"] == 2 and committer.totals["dead_letters"] == 4
    assert committer.totals["row_by_row"] == 0
    reasons = letters(engine)
    for device, ts in edge.items():
        reason = reasons[f"{device}/door"]
        assert "Overflow" not in reason and "out of range" not in reason, reason
        assert reason.startswith(f"ts {ts.replace('Z', '+00:00')} is "), reason
        assert ("ahead of the receiver's clock" if ts.startswith("9999") else "before 2020") in reason
        assert "too far from any real time to be stored" in reason


def test_a_flow_counts_by_in_never_by_its_python_name(engine: Engine) -> None:
    a = Station("qd-a")
    topic, payload = a.flow(3, ts=NOW)
    only_python_name = {**json.loads(payload), "device": "flow-2"}
    only_python_name["in_"] = only_python_name.pop("in")
    both = {**json.loads(payload), "in_": 999}  # `in` kept (3), and a decoy under the Python name
    committer = committed(engine, [(topic.replace("flow-1", "flow-2"), json.dumps(only_python_name).encode()),
                                   (topic, json.dumps(both).encode())])
    assert committer.totals["stored"] == 1 and committer.totals["dead_letters"] == 1
    assert committer.totals["dropped_fields"] == 1
    assert letters(engine)["flow-2/flow"] == "in is required but missing"
    with engine.connect() as c:
        stored = c.execute(select(Event.payload)).scalar_one()
    assert stored["in"] == 3 and "in_" not in stored  # the field kept, the decoy dropped (it once dropped `in`)


def test_a_message_on_a_cmd_topic_that_is_no_command_is_a_counted_dead_letter(engine: Engine) -> None:
    a = Station("qd-a")
    ack = json.dumps({"v": 1, "call": "c-1", "by": "staff:wang", "ts": NOW.isoformat()}).encode()
    committer = committed(engine, [("eldercare/v1/qd-a/cmd/flow", a.flow(1, ts=NOW)[1]),
                                   ("eldercare/v1/qd-a/cmd/call-ack", ack), a.door(ts=NOW)])
    assert (committer.totals["stored"], committer.totals["ignored"], committer.totals["dead_letters"]) == (1, 1, 1)
    assert committer.metrics.ignored._value.get() == 1 and committer.metrics.invalid.labels("invalid")._value.get() == 1
    assert letters(engine) == {"cmd/flow": "unknown command 'flow'; known: call-ack, time-check"}


def test_a_health_detail_that_is_no_flat_map_of_short_values_is_a_dead_letter(engine: Engine) -> None:
    a = Station("qd-a")
    encoding = [round(0.0123 * i - 0.7, 6) for i in range(128)]
    blob = base64.b64encode(random.Random(7).randbytes(128)).decode()  # a face encoding, a byte a value
    photo = base64.b64encode((FACES / "obama_1.jpg").read_bytes()).decode()
    agent = {"source": "rtsp://***@192.168.10.64:554/Streaming/Channels/101", "frames": 123_456, "fps": 12.5,
             "ended": False}
    bad = {"cam-enc": {"encoding": encoding}, "cam-b64": {"e": blob}, "cam-jpg": {"snapshot": photo},
           "cam-nest": {"vendor": {"fw": "1.2"}}}
    messages = [edited(a.health(True, device="cam-1"), detail=agent)]
    messages += [edited(a.health(False, device="cam-1"), device, detail=detail) for device, detail in bad.items()]
    committer = committed(engine, [*messages, a.door(ts=NOW)])
    assert committer.totals["stored"] == 2 and committer.totals["dead_letters"] == 4
    reasons = letters(engine)
    assert reasons["cam-enc/health"].startswith("detail.encoding: a list is not allowed")
    assert reasons["cam-b64/health"].startswith("detail.e: looks like encoded binary data")
    assert reasons["cam-jpg/health"].startswith("detail.snapshot: ")
    assert reasons["cam-nest/health"].startswith("detail.vendor: an object is not allowed")
    with engine.connect() as c:
        stored = c.execute(select(Event.payload).where(Event.kind == "health")).scalar_one()
        devices = dict(c.execute(select(Device.device_id, Device.last_health)).tuples().all())
    assert stored["detail"] == agent
    assert set(devices) == {"cam-1", "door-1"}  # the refused reports left no device behind
    assert devices["cam-1"] == {"ok": True, "error": None, "detail": agent}
