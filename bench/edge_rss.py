"""Resident memory of the edge agent without a camera (2 counters on a pty bus, a door, a button on mock pins).

The baseline measured in the same run is a bare interpreter that imports what the agent imports (paho, pydantic,
pymodbus, gpiozero) and does nothing: the agent's own cost is the difference.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository root

import yaml

from simulators.modbus_counter import ModbusCounterSim, SimCounter
from tests.localservices import run_mosquitto

TARGET_MB = 60.0
IMPORTS = ("import paho.mqtt.client, pydantic, pymodbus.client, gpiozero, serial, sqlite3, edge.agent, "
           "firmware_config.load; import time; time.sleep(60)")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def peak_rss(process: subprocess.Popen[bytes], seconds: float) -> float:
    peak, deadline = 0.0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "process exited"
        peak = max(peak, rss_mb(process.pid))
        time.sleep(0.2)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="how long the running agent is watched")
    parser.add_argument("--quick", action="store_true", help="a small run for CI (well under a minute)")
    args = parser.parse_args()
    watch = 4.0 if args.quick else args.seconds
    with tempfile.TemporaryDirectory() as tmp, run_mosquitto(workdir=Path(tmp)) as broker:
        work = Path(tmp)
        counters = [SimCounter(1), SimCounter(2)]
        with ModbusCounterSim(counters, work / "ttyUSB0") as sim:
            config = work / "station.yaml"
            config.write_text(yaml.safe_dump({
                "station": "qd-bench-01", "name": "b", "grade": "3A", "town": "t", "address": "a",
                "mqtt": {"host": "127.0.0.1", "port": broker.port, "tls": False, "password_env": None},
                "agent": {"outbox": str(work / "outbox.db"), "clock_check": "year"},
                "devices": [
                    {"type": "counter", "id": "flow-1", "port": str(sim.port), "unit": 1, "interval_s": 0.5},
                    {"type": "counter", "id": "flow-2", "port": str(sim.port), "unit": 2, "interval_s": 0.5},
                    {"type": "door", "id": "door-1", "pin": 17},
                    {"type": "button", "id": "call-1", "pin": 22, "led_pin": 23},
                ],
            }))
            baseline = subprocess.Popen([sys.executable, "-c", IMPORTS])
            agent = subprocess.Popen([sys.executable, "-m", "eldercare", "edge", "run", "--mock-gpio",
                                      "--config", str(config)], stderr=subprocess.DEVNULL)
            try:
                time.sleep(2)
                for _ in range(50):
                    counters[0].add(1, 1)
                base = peak_rss(baseline, min(5.0, watch))
                used = peak_rss(agent, watch)
            finally:
                for process in (agent, baseline):
                    process.terminate()
                    process.wait(10)
    print(f"interpreter with the agent's imports: {base:.1f} MB")
    print(f"agent running (2 counters, door, button, no camera): {used:.1f} MB peak RSS")
    print(f"agent_rss: ratio={used / TARGET_MB:.2f} (target <= 1.0 of {TARGET_MB:.0f} MB)")


if __name__ == "__main__":
    main()
