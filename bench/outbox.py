"""Outbox drain rate vs a plain paho-mqtt publish loop of the same messages to the same Mosquitto; 7-day backlog replay.

Both sides publish at QoS 1 with the same in-flight window and count a message done at its PUBACK; the outbox side
also reads each row from SQLite and deletes it after the ack (durably, synchronous=FULL). Rounds are interleaved so
both see the same machine load; the best round of each counts (the machine is shared).
"""

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository root

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.drivers.base import Reading
from edge.outbox import Outbox
from edge.publisher import Publisher
from firmware_config.station import MqttConfig
from station_protocol import Kind
from tests.localservices import run_mosquitto

STATION = "qd-bench-01"
WINDOW = 256
# The ingesters' shared subscription, as in production: a broker with no subscriber answers PUBACK 0x10 ("no matching
# subscribers"), which the agent rightly treats as not delivered, so without one the outbox would never drain.
INGEST_SUBSCRIPTION = "$share/ingest/eldercare/v1/#"


class Subscriber:
    """A QoS 1 subscriber on the ingest subscription that only counts what it receives."""

    def __init__(self, port: int) -> None:
        self.received = 0
        self._ready = threading.Event()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-ingest", protocol=paho.MQTTv5)
        self._client.on_connect = lambda c, *_: c.subscribe(INGEST_SUBSCRIPTION, qos=1)
        self._client.on_subscribe = lambda *_: self._ready.set()
        self._client.on_message = self._count
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        if not self._ready.wait(30):
            raise SystemExit("the bench subscriber was not subscribed within 30 s")

    def _count(self, *_args: Any) -> None:
        self.received += 1

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()


def fill(path: Path, count: int) -> Outbox:
    """An outbox holding `count` flow events of 4 counters, one a minute each, like a week offline."""
    box = Outbox(path, STATION, max_events=max(200_000, count + 1), fsync=False)  # quick to fill; drained durably
    start = datetime(2026, 10, 5, tzinfo=UTC)
    for n in range(count):
        box.put(Reading(device=f"flow-{n % 4 + 1}", kind=Kind.FLOW, ts=start + timedelta(seconds=15 * n),
                        fields={"period_s": 60, "in": n % 7, "out": n % 5, "counter_in": n, "counter_out": n}))
    box.close()
    return Outbox(path, STATION, max_events=max(200_000, count + 1))


def plain_loop(port: int, messages: list[tuple[str, bytes]]) -> float:
    """Seconds for paho alone to publish `messages` at QoS 1 and receive every PUBACK."""
    done = threading.Event()
    acked = [0]

    def on_publish(*_args: Any) -> None:
        acked[0] += 1
        if acked[0] == len(messages):
            done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.max_inflight_messages_set(WINDOW)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    start = time.perf_counter()
    client.connect("127.0.0.1", port)
    client.loop_start()
    for topic, payload in messages:
        client.publish(topic, payload, qos=1)
    assert done.wait(300), "paho did not finish"
    elapsed = time.perf_counter() - start
    client.loop_stop()
    client.disconnect()
    return elapsed


def drain(port: int, box: Outbox) -> float:
    """Seconds for the agent's publisher to empty `box` (connect, publish, PUBACK, delete)."""
    config = MqttConfig(host="127.0.0.1", port=port, tls=False, password_env=None)

    async def main() -> float:
        publisher = Publisher(STATION, config, box, window=WINDOW)
        start = time.perf_counter()
        task = asyncio.create_task(publisher.run())
        while box.depth:  # noqa: ASYNC110 - polling the depth is the measurement
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - start
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return elapsed

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=25_000, help="events in the 7-day backlog replay")
    parser.add_argument("--quick", action="store_true", help="a small run for CI (well under a minute)")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.rounds, args.backlog = 2000, 1, 3000
    with tempfile.TemporaryDirectory() as tmp, run_mosquitto(workdir=Path(tmp)) as broker:
        work = Path(tmp)
        subscriber = Subscriber(broker.port)
        ours, floor = [], []
        for round_ in range(args.rounds):
            box = fill(work / f"round{round_}.db", args.messages)
            messages = [(r.topic, r.payload) for r in box.batch(args.messages)]
            floor.append(args.messages / plain_loop(broker.port, messages))
            ours.append(args.messages / drain(broker.port, box))
            box.close()
        backlog = fill(work / "backlog.db", args.backlog)
        replay = drain(broker.port, backlog)
        backlog.close()
        subscriber.close()
    best_floor, best_ours = max(floor), max(ours)
    print(f"paho publish loop:  {best_floor:,.0f} msg/s (QoS 1, window {WINDOW}, best of {args.rounds})")
    print(f"outbox drain:       {best_ours:,.0f} msg/s (SQLite read, publish, PUBACK, durable delete)")
    print(f"backlog_replay: {args.backlog} events (7 days of 4 counters at 1/min + margin) in {replay:.1f} s")
    print(f"outbox: ratio={best_ours / best_floor:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
