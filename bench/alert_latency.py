"""An emergency press on a simulated station reaches the open dashboard page: time from publish to the page.

Everything real, on this machine: Mosquitto, `eldercare cloud ingest` (its emergency fast path commits the alert at
once), `eldercare cloud api` (the live stream over Server-Sent Events), and the dashboard's alerts page open in
headless Chromium, logged in as the dispatcher. A simulated station publishes `call` presses over MQTT at QoS 1 as
its agent would; the page records when each alert arrives. Baseline in the same run: the same presses received by a
bare MQTT subscriber (the broker hop every path pays). Target: under 1 s at the median (the worst is printed too).
Usage: python bench/alert_latency.py [--presses N]
"""

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud.api.security import hash_password
from cloud.store.db import make_engine, make_session_factory
from cloud.store.migrate import upgrade
from cloud.store.models import Station
from cloud.store.users import User
from station_protocol import Call, encode, new_event_id
from tests.localservices import free_port, run_mosquitto, wait_for_port
from tests.wait import poll

STATION = "sim-call-01"
PASSWORD = "bench-password"
TARGET_S = 1.0


def prepare(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        session.add(Station(id=STATION, name="模拟站点", town="汇龙镇", grade="3A", weekdays="1-7",
                            hours="00:00-23:59", open_on_holidays=True))
        session.add(User(name="dispatch", role="dispatch", password_hash=hash_password(PASSWORD)))
        session.commit()
    engine.dispose()


def client(port: int, name: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="a small run for CI (well under a minute)")
    args = parser.parse_args()
    if args.quick:
        args.presses = 5
    with tempfile.TemporaryDirectory() as tmp, run_mosquitto(workdir=Path(tmp)) as broker, sync_playwright() as pw:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        prepare(url)
        env = {**os.environ, "ELDERCARE_DATABASE_URL": url, "ELDERCARE_SECRET_KEY": secrets.token_urlsafe(32),
               "ELDERCARE_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}"}
        api_port = free_port()
        ingest_log = Path(tmp) / "ingest.log"
        procs = [
            subprocess.Popen([sys.executable, "-m", "eldercare", "cloud", "ingest", "--no-telemetry",
                              "--client-id", "bench-ingest"], env=env,
                             stdout=subprocess.DEVNULL, stderr=ingest_log.open("wb")),
            subprocess.Popen([sys.executable, "-m", "eldercare", "cloud", "api", "--port", str(api_port)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        ]
        try:
            wait_for_port(api_port, timeout=30, process=procs[1])
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(f"http://127.0.0.1:{api_port}/")
            page.fill("input[name=username]", "dispatch")
            page.fill("input[name=password]", PASSWORD)
            page.click("#login-form button[type=submit]")
            page.wait_for_selector(".live.on", timeout=20_000)
            # Stamp each alert as the page receives it (after the page itself has rendered its row).
            page.evaluate("() => { window.seen = {}; App.onAlert(a => { window.seen[a.call_id] ??= Date.now(); }); }")

            bare: dict[str, float] = {}
            watcher = client(broker.port, "bench-bare")

            def on_message(_c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
                bare.setdefault(json.loads(m.payload)["call"], time.time())

            watched = threading.Event()
            watcher.on_message = on_message
            watcher.on_subscribe = lambda *_: watched.set()
            watcher.subscribe(f"eldercare/v1/{STATION}/+/call", qos=1)
            station = client(broker.port, STATION)
            # The ingester says "ingesting" once its subscription is acknowledged: a press before would be lost.
            poll(lambda: b'"ingesting"' in ingest_log.read_bytes(), timeout=60, what="the ingester subscribed")
            poll(lambda: watched.is_set() and station.is_connected(), timeout=30,
                 what="the bare subscriber and the station connected")
            sent: dict[str, float] = {}
            for i in range(args.presses):
                call = f"press-{i:03d}"
                message = Call(v=1, id=UUID(new_event_id()), station=STATION, device="button-1", seq=i,
                               ts=datetime.now(UTC), action="pressed", call=call)
                sent[call] = time.time()
                station.publish(f"eldercare/v1/{STATION}/button-1/call", encode(message), qos=1).wait_for_publish()
                page.wait_for_function(f"() => window.seen['{call}'] !== undefined", timeout=10_000)
                time.sleep(0.3)
            seen = page.evaluate("() => window.seen")
            rows = page.locator("[data-testid=alerts] tbody tr").count()
            browser.close()
            station.loop_stop()
            watcher.loop_stop()
        finally:
            for proc in procs:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    page_s = sorted(seen[c] / 1000 - t for c, t in sent.items())
    mqtt_s = sorted(bare[c] - t for c, t in sent.items() if c in bare)
    print(f"{args.presses} presses; the dispatcher's page shows {rows} alert rows")
    print(f"baseline, bare MQTT subscriber: median {statistics.median(mqtt_s) * 1000:.1f} ms")
    print(f"press -> open dashboard page: median {statistics.median(page_s) * 1000:.0f} ms, "
          f"worst {page_s[-1] * 1000:.0f} ms")
    print(f"alert_latency: ratio={statistics.median(page_s) / TARGET_S:.2f} (target <= 1.0 of 1 s)")


if __name__ == "__main__":
    main()
