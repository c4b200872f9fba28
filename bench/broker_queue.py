"""Mosquitto's memory and disk per message queued for an absent ingester, and a day of one absent ingester's share.

An ingester away from the shared subscription keeps being dealt its share of the stations' messages, which the broker
holds in memory (and in its persistence file) until it comes back or its session expires. This sizes the default
`--session-expiry` (docs/cloud-ingest.md): a real Mosquitto (the tests' configuration: persistence on, no queue
limit), one MQTT v5 member of the ingest group connected once and gone, then N messages of the load benchmark's mix
(`bench/load.py`: per station and minute one flow count, one heartbeat, a face every 2 minutes, a door change every 10
minutes) from 1,000 stations. Reported: the broker's resident memory and persistence file per queued message, the
longest a publish waited while the broker saved its state (it saves every 30 minutes with a queue this size), and
what one absent member of two costs in a day, and over the default session expiry, at 1,000 stations.

    .venv/bin/python -m bench.broker_queue [--messages 300000] [--quick]
"""

import argparse
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository root

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.load import PER_MINUTE, StationSim
from cloud.ingest.config import DEFAULT_SESSION_EXPIRY_S
from tests.localservices import Mosquitto, run_mosquitto
from tests.wait import poll

STATIONS = 1000
GROUP_MEMBERS = 2  # compose's two ingesters: the absent one is dealt every other message
# The broker memory docs/cloud-ingest.md plans for one absent member's share over a whole default session expiry.
BUDGET = 4e9


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def absent_member(broker: Mosquitto) -> None:
    """An ingester that subscribed to the group once and went away, its session kept for a day."""
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-absent", protocol=mqtt.MQTTv5)
    client.on_subscribe = lambda *_: subscribed.set()
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 86400
    client.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
    client.loop_start()
    client.subscribe("$share/ingest/eldercare/v1/#", qos=1)
    if not subscribed.wait(30):
        raise SystemExit("the absent member was not subscribed within 30 s")
    client.disconnect()
    client.loop_stop()


def publish_mix(broker: Mosquitto, count: int) -> float:
    """Publish `count` messages of the load mix at QoS 1, each acknowledged; returns their mean topic + payload size."""
    sims = [StationSim(f"qd-{i:04d}") for i in range(STATIONS)]
    kinds = [kind for kind, rate in PER_MINUTE.items() for _ in range(round(rate * 10))]
    rng = random.Random(7)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    size = 0
    try:
        pending = []
        for n in range(count):
            topic, payload = sims[n % STATIONS].message(rng.choice(kinds))
            size += len(topic) + len(payload)
            pending.append(client.publish(topic, payload, qos=1))
            if len(pending) >= 5000:
                for info in pending:
                    info.wait_for_publish(60)
                pending = []
        for info in pending:
            info.wait_for_publish(60)
    finally:
        client.disconnect()
        client.loop_stop()
    return size / count


def save_stall(broker: Mosquitto) -> float:
    """Ask the broker to save its state (SIGUSR1, as its autosave does) and time publishes meanwhile: the longest."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    db = broker.config.parent / "mosquitto.db"
    before = db.stat().st_mtime_ns if db.exists() else 0
    longest = 0.0
    try:
        os.kill(broker.process.pid, signal.SIGUSR1)
        for _ in range(40):
            started = time.monotonic()
            client.publish("bench/probe", b"1", qos=1).wait_for_publish(120)
            longest = max(longest, time.monotonic() - started)
            time.sleep(0.05)
        poll(lambda: db.exists() and db.stat().st_mtime_ns != before, timeout=120, what="the broker's saved state")
    finally:
        client.disconnect()
        client.loop_stop()
    return longest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--quick", action="store_true", help="a small run for CI (20,000 messages)")
    args = parser.parse_args()
    count = 20_000 if args.quick else args.messages
    with run_mosquitto() as broker:
        absent_member(broker)
        base = rss(broker.process.pid)
        mean = publish_mix(broker, count)
        per_message = (rss(broker.process.pid) - base) / count
        stall = save_stall(broker)
        on_disk = (broker.config.parent / "mosquitto.db").stat().st_size / count
    per_day = STATIONS * sum(PER_MINUTE.values()) * 1440 / GROUP_MEMBERS  # the absent member's share
    print(f"{count:,} messages queued for an absent member (mean topic + payload {mean:.0f} B): broker memory "
          f"{per_message:.0f} B a message, persistence file {on_disk:.0f} B a message; longest publish during a save "
          f"{stall * 1000:.0f} ms")
    print(f"one absent ingester of {GROUP_MEMBERS}, {STATIONS:,} stations ({per_day:,.0f} messages a day): "
          f"{per_message * per_day / 1e9:.2f} GB of broker memory and {on_disk * per_day / 1e9:.2f} GB on disk a day")
    days = DEFAULT_SESSION_EXPIRY_S / 86400
    held = per_message * per_day * days
    print(f"broker_queue: ratio={held / BUDGET:.2f} (target <= 1.0 of 4 GB of broker memory for one absent ingester "
          f"of {GROUP_MEMBERS} over the default --session-expiry, {days:g} days, {STATIONS:,} stations)")

if __name__ == "__main__":
    main()
