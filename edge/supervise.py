"""Run one driver forever: a crash is logged, reported as the device's health, and restarted with backoff."""

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from edge.drivers.base import Driver, Emit, health

log = logging.getLogger(__name__)

StateLookup = Callable[[str], Mapping[str, Any] | None]


async def supervise(driver: Driver, emit: Emit, state: StateLookup, *, first_delay_s: float = 1.0,
                    max_delay_s: float = 60.0, healthy_after_s: float = 60.0) -> None:
    """Keep `driver` running until cancelled; never lets its exceptions reach the agent."""
    failures = 0
    while True:
        restore = getattr(driver, "restore", None)
        if restore is not None:
            restore(state(driver.device_id))
        started = time.monotonic()
        try:
            await driver.run(emit)
            problem = "driver stopped on its own"
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            problem = f"driver crashed: {type(exc).__name__}: {exc}"
            log.exception("%s: driver crashed", driver.device_id)
        if time.monotonic() - started > healthy_after_s:
            failures = 0  # it ran well for a while: this is a fresh failure, not a crash loop
        failures += 1
        delay = min(max_delay_s, first_delay_s * 2 ** (failures - 1)) * random.uniform(0.8, 1.2)
        try:
            await emit(health(driver.device_id, False, f"{problem}; restarting in {delay:.1f} s",
                              {"restarts": failures}))
        except Exception:
            log.exception("%s: could not record the crash", driver.device_id)
        await asyncio.sleep(delay)
