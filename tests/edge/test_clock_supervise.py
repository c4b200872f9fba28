"""Clock sanity rules, the supervisor restarting a crashing driver, and the camera staying out unless configured."""

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from edge.clock import clock_problem
from edge.drivers.base import Emit, Reading
from edge.supervise import supervise
from hostclock import KernelClock, kernel_clock
from station_protocol import Kind


def test_clock_rules() -> None:
    now = datetime(2026, 10, 12, tzinfo=UTC)
    synced, unsynced = KernelClock(True, 0.3), KernelClock(False, 0.0)
    assert clock_problem(now, "ntp", synced) is None
    assert "not synchronised" in (clock_problem(now, "ntp", unsynced) or "")
    assert clock_problem(now, "year", unsynced) is None
    assert "before 2020" in (clock_problem(datetime(1970, 1, 1, tzinfo=UTC), "year", None) or "")
    assert clock_problem(datetime(1970, 1, 1, tzinfo=UTC), "off", None) is None
    assert clock_problem(now, "ntp", None) is None  # no adjtimex: only the year rule applies
    assert kernel_clock() is not None  # Linux: adjtimex answers without privileges


class Flaky:
    """Crashes twice, then emits one reading and waits."""

    device_id = "flow-1"

    def __init__(self) -> None:
        self.runs = 0
        self.restored: list[Any] = []

    def restore(self, state: Any) -> None:
        self.restored.append(state)

    async def run(self, emit: Emit) -> None:
        self.runs += 1
        if self.runs <= 2:
            raise OSError("adapter gone")
        await emit(Reading(device="flow-1", kind=Kind.FLOW, ts=datetime.now(UTC),
                           fields={"period_s": 1, "in": 0, "out": 0}))
        await asyncio.Event().wait()


def test_supervisor_restarts_with_backoff_and_reports() -> None:
    driver, got = Flaky(), []

    async def main() -> None:
        flowed = asyncio.Event()

        async def emit(reading: Reading) -> None:
            got.append(reading)
            if reading.kind is Kind.FLOW:
                flowed.set()

        task = asyncio.create_task(supervise(driver, emit, lambda _d: {"in": 5}, first_delay_s=0.01))
        await flowed.wait()
        task.cancel()

    asyncio.run(asyncio.wait_for(main(), 10))
    healths = [r for r in got if r.kind is Kind.HEALTH]
    assert driver.runs == 3 and len(healths) == 2
    assert healths[0].fields["ok"] is False
    assert "driver crashed: OSError: adapter gone" in healths[0].fields["error"]
    assert driver.restored == [{"in": 5}] * 3


def test_no_cv2_without_a_camera() -> None:
    code = ("import sys; from firmware_config.load import load_station; from edge.agent import Agent; "
            "load_station('firmware_config/examples/qd-lvsi-02.yaml'); "
            "print(sorted(m for m in ('cv2', 'face_recognition', 'numpy', 'dlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
