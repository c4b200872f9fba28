"""The publisher against a real Mosquitto: an urgent call overtakes a queued backlog; acked rows leave the outbox."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from edge.drivers.base import Reading
from edge.outbox import Outbox
from edge.publisher import Publisher, backoff_delays, stamp_sent
from firmware_config.station import MqttConfig
from station_protocol import Kind, decode
from tests.edge.conftest import Subscriber
from tests.localservices import Mosquitto
from tests.wait import poll_async

BACKLOG = 6000


def test_urgent_call_overtakes_the_backlog(mosquitto: Mosquitto, subscriber: Subscriber, tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", "qd-pub-01", fsync=False)
    for n in range(BACKLOG):
        box.put(Reading(device="flow-1", kind=Kind.FLOW, ts=datetime.now(UTC), fields={"period_s": 60, "in": n,
                                                                                        "out": 0}))
    config = MqttConfig(host="127.0.0.1", port=mosquitto.port, tls=False, password_env=None)

    async def main() -> None:
        publisher = Publisher("qd-pub-01", config, box, window=64)
        task = asyncio.create_task(publisher.run())
        await poll_async(lambda: publisher.published >= 200, 60, "the drain under way", interval=0.001)
        box.put(Reading(device="call-1", kind=Kind.CALL, ts=datetime.now(UTC), urgent=True,
                        fields={"action": "pressed", "call": "c-1"}))
        publisher.notify(urgent=True)
        await poll_async(lambda: box.depth == 0, 60, "the outbox drained", interval=0.01)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(asyncio.wait_for(main(), 60))
    received = subscriber.wait_for(lambda m: sum("/qd-pub-01/" in x.topic for x in m) >= BACKLOG + 2)
    topics = [m.topic for m in received if "/qd-pub-01/" in m.topic and "/agent/" not in m.topic]
    position = topics.index("eldercare/v1/qd-pub-01/call-1/call")
    assert position < BACKLOG // 4, f"the call waited behind {position} queued events"
    flows: list[Any] = [decode(m.topic, m.payload).message for m in received if m.topic.endswith("/flow")]
    assert [f.in_ for f in flows] == list(range(BACKLOG))
    assert all(f.sent is not None for f in flows)
    assert box.depth == 0


def test_backoff_has_full_jitter_and_a_cap() -> None:
    delays = backoff_delays(1.0, 8.0)
    first = [next(delays) for _ in range(12)]
    assert all(0.1 <= d <= 8.0 for d in first)
    spread = {round(next(backoff_delays(1.0, 8.0)), 3) for _ in range(50)}
    assert len(spread) > 10  # a fleet does not retry in lockstep


def test_stamp_sent() -> None:
    when = "2026-10-12T00:00:00.000+00:00"
    assert stamp_sent(b'{"a":1}', when) == b'{"a":1,"sent":"' + when.encode() + b'"}'


def test_reconnect_backoff_resets_after_a_session_the_broker_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = Outbox(tmp_path / "o.db", "qd-pub-01", fsync=False)
    config = MqttConfig(host="127.0.0.1", port=1, tls=False, password_env=None)
    accepted = True
    delays: list[float] = []

    async def session() -> None:
        if accepted:
            publisher.connacks += 1  # CONNACK, then the connection drops
        raise ConnectionError("connection lost")

    async def sleep(delay: float) -> None:
        delays.append(delay)
        if len(delays) >= 12:
            raise asyncio.CancelledError

    publisher = Publisher("qd-pub-01", config, box, backoff_base_s=1.0, backoff_cap_s=1000.0, wait=sleep)
    monkeypatch.setattr(publisher, "_session", session)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(publisher.run())
    assert max(delays) <= 1.0  # every drop after a CONNACK waits at most the first step (with jitter)

    accepted, delays[:] = False, []
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(publisher.run())
    assert max(delays) > 8.0  # refused again and again: the waits grow toward the cap
    box.close()
