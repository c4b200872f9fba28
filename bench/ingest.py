"""End-to-end ingest rate (published → committed) against a bare paho subscriber that only counts (the ceiling).

One run, one real Mosquitto. Messages are queued in the broker for the consumers' persistent sessions first, then the
consumer starts and drains them: the rate is how fast it empties the queue, not how fast this script can publish.
Consumers are separate processes: `eldercare cloud ingest` (SQLite, then PostgreSQL, then two ingesters on one shared
subscription) and a bare paho-mqtt subscriber on the same kind of subscription.

    .venv/bin/python bench/ingest.py [--messages 20000] [--repeat 3]
"""

import argparse
import functools
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository root

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from station_protocol import Door, Face, Flow, encode, new_event_id
from tests.localservices import free_port, run_mosquitto, run_postgres
from tests.wait import poll

STATIONS = [f"bench-{i:02d}" for i in range(20)]
BARE = r'''
import sys, time
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
port, client_id, group, expected = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
state = {"n": 0, "first": None, "cpu": 0.0}
def on_connect(client, userdata, flags, reason, props):
    client.subscribe(f"$share/{group}/eldercare/v1/#", qos=1)
def on_message(client, userdata, message):
    if state["first"] is None:
        state["first"], state["cpu"] = time.time(), time.process_time()
    state["n"] += 1
    if state["n"] >= expected:
        print(f"{state['first']} {time.time()} {time.process_time() - state['cpu']}", flush=True)
        client.disconnect()
c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
c.on_connect, c.on_message = on_connect, on_message
props = Properties(PacketTypes.CONNECT); props.SessionExpiryInterval = 3600
c.connect("127.0.0.1", port, clean_start=False, properties=props)
if len(sys.argv) > 5:
    c.loop(1.0); c.disconnect(); sys.exit(0)
c.loop_forever()
'''


def payloads(count: int) -> list[tuple[str, bytes]]:
    """A realistic mix: people-flow counts, door changes and face observations over 20 stations."""
    start = datetime.now(UTC) - timedelta(hours=1)
    out = []
    for i in range(count):
        station = STATIONS[i % len(STATIONS)]
        ts = start + timedelta(milliseconds=i)
        common: dict[str, Any] = {"v": 1, "id": uuid.UUID(new_event_id()), "station": station, "seq": i, "ts": ts}
        if i % 3 == 0:
            msg: Flow | Door | Face = Flow(device="flow-1", period_s=60, in_=i % 5, out=i % 4, **common)
        elif i % 3 == 1:
            msg = Door(device="door-1", state="open" if i % 2 else "closed", **common)
        else:
            msg = Face(device="cam-1", person=f"p-{i % 300}", role="elder", distance=0.42, **common)
        out.append((f"eldercare/v1/{station}/{msg.device}/{type(msg).__name__.lower()}", encode(msg)))
    return out


def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()


def bare(port: int, messages: list[tuple[str, bytes]], consumers: int) -> tuple[float, float]:
    """Messages per second drained by `consumers` bare counting subscribers, and their CPU µs per message."""
    group = f"bare{uuid.uuid4().hex[:6]}"
    ids = [f"{group}-{i}" for i in range(consumers)]
    for cid in ids:  # create the persistent sessions and their subscriptions, then leave
        subprocess.run([sys.executable, "-c", BARE, str(port), cid, group, "1", "register"], check=True)
    publish(port, messages)
    share = len(messages) // consumers
    procs = [subprocess.Popen([sys.executable, "-c", BARE, str(port), cid, group, str(share)],
                              stdout=subprocess.PIPE, text=True) for cid in ids]
    spans = [tuple(map(float, (p.communicate(timeout=600)[0] or "0 0 0").split())) for p in procs]
    cpu = sum(c for _, _, c in spans) / (share * consumers) * 1e6
    return share * consumers / (max(e for _, e, _ in spans) - min(s for s, _, _ in spans)), cpu


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serves_metrics(port: int) -> bool:
    try:
        _metric(port, "eldercare_ingest_received_total")
    except OSError:
        return False
    return True


def _metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M))


@contextmanager
def ingesters(port: int, url: str, count: int, group: str) -> Iterator[list[tuple[int, int]]]:
    env = {**os.environ, "ELDERCARE_DATABASE_URL": url, "ELDERCARE_MQTT_URL": f"mqtt://127.0.0.1:{port}"}
    env.pop("ELDERCARE_INFLUX_URL", None)
    metric_ports = [free_port() for _ in range(count)]
    procs = [subprocess.Popen([sys.executable, "-m", "eldercare", "cloud", "ingest", "--group", group,
                               "--client-id", f"{group}-{i}", "--metrics-port", str(mp)], env=env,
                              stderr=subprocess.DEVNULL) for i, mp in enumerate(metric_ports)]
    try:
        for mp in metric_ports:
            poll(functools.partial(_serves_metrics, mp), timeout=60, interval=0.1,
                 what=f"an ingester's metrics on port {mp}")
        yield [(mp, proc.pid) for mp, proc in zip(metric_ports, procs, strict=True)]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)


def ingest(port: int, url: str, messages: list[tuple[str, bytes]], consumers: int) -> tuple[float, float]:
    """Messages per second committed by `consumers` ingester processes draining the queued messages, and their CPU µs
    per message."""
    group = f"ing{uuid.uuid4().hex[:6]}"
    with ingesters(port, url, consumers, group):  # register the persistent sessions, then stop them
        pass
    publish(port, messages)
    with ingesters(port, url, consumers, group) as running:
        metric_ports, pids = [mp for mp, _ in running], [pid for _, pid in running]
        first = None
        while True:
            # Received-not-committed or committed: the first message has arrived (received counts only commits).
            received = sum(_metric(mp, "eldercare_ingest_received_total") + _metric(mp, "eldercare_ingest_queue")
                           for mp in metric_ports)
            if received > 0:
                first = time.time()
                cpu = sum(map(_cpu_seconds, pids))
                break
            time.sleep(0.02)
        # Then scrape rarely (a scrape costs the ingester CPU) and take the end from its last-commit time.
        while sum(_metric(mp, "eldercare_ingest_stored_total") for mp in metric_ports) < len(messages):
            time.sleep(0.25)
        cpu = sum(map(_cpu_seconds, pids)) - cpu
        end = max(_metric(mp, "eldercare_ingest_last_commit_timestamp_seconds") for mp in metric_ports)
        return len(messages) / (end - first), cpu / len(messages) * 1e6


def prepare(url: str) -> None:
    env = {**os.environ, "ELDERCARE_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "eldercare", "cloud", "migrate"], env=env, check=True,
                   capture_output=True)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as csv:
        csv.write("station_id,name,town,grade,weekdays,hours\n")
        csv.writelines(f"{s},{s},bench-town,3A,1-7,00:00-23:59\n" for s in STATIONS)
    subprocess.run([sys.executable, "-m", "eldercare", "cloud", "stations", "import", csv.name], env=env,
                   check=True, capture_output=True)
    Path(csv.name).unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="paired runs per database; the median counts")
    parser.add_argument("--quick", action="store_true", help="a small run for CI (well under a minute)")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.repeat = 3000, 1
    with ExitStack() as stack:
        broker = stack.enter_context(run_mosquitto())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ingest-")))
        sqlite_url = f"sqlite:///{tmp / 'bench.db'}"
        pg = stack.enter_context(run_postgres())
        pg_url = pg.create_database("bench")
        for url in (sqlite_url, pg_url):
            prepare(url)
        print(f"{args.messages} messages queued in Mosquitto, then drained; rates in messages/s. Each ingest run "
              "is paired with a bare-subscriber run just before it (the machine may be shared).", flush=True)
        ratios, rates, cpu_ratios = {}, {}, {}
        for name, url in (("sqlite", sqlite_url), ("postgresql", pg_url)):
            pairs, cpus = [], []
            for _ in range(args.repeat):
                ceiling, bare_cpu = bare(broker.port, payloads(args.messages), 1)
                rate, cpu = ingest(broker.port, url, payloads(args.messages), 1)
                pairs.append((rate / ceiling, rate))
                cpus.append(bare_cpu / cpu)
                print(f"{name:<11} bare paho subscriber {ceiling:8.0f}   one ingester {rate:8.0f}   "
                      f"ratio {rate / ceiling:.2f}   CPU per message {bare_cpu:4.0f} / {cpu:4.0f} µs", flush=True)
            ratios[name], rates[name] = sorted(pairs)[len(pairs) // 2]  # the median pair
            cpu_ratios[name] = sorted(cpus)[len(cpus) // 2]
        for name, url in (("sqlite", sqlite_url), ("postgresql", pg_url)):
            ceiling2, _ = bare(broker.port, payloads(args.messages), 2)
            two, _ = ingest(broker.port, url, payloads(args.messages), 2)
            print(f"{name:<11} two bare subscribers {ceiling2:8.0f}   two ingesters {two:8.0f}   "
                  f"x{two / rates[name]:.2f} of one ingester", flush=True)
        # The CPU ratio (bare CPU per message / ingester CPU per message) is what the rate ratio would be with a core
        # to each process; it moves far less than the rates when others share the machine.
        print(f"median CPU ratio: sqlite {cpu_ratios['sqlite']:.2f}, postgresql {cpu_ratios['postgresql']:.2f}")
        print(f"median ratio: sqlite {ratios['sqlite']:.2f}, postgresql {ratios['postgresql']:.2f}")
        print(f"ingest: ratio={min(ratios.values()):.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
