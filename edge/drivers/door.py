"""Door magnet (reed switch) on GPIO: debounced open/closed changes stamped with when they happened; cut wire = fault.

A normally-closed (`nc`) reed contact opens when the door opens, so a cut wire reads as "open". Two ways tell a cut
wire apart: a 4-wire sensor's tamper loop on `tamper_pin` (open loop = fault at once), and `max_open_s`, after which
a door that never closes is reported as `fault` (implausible for a station's door).
"""

import asyncio
import contextlib
import logging
import time
from typing import Any

from edge.drivers.base import Emit, Reading, now
from edge.drivers.gpio import DoorState, Edge, door_state, watch
from edge.drivers.modbus_bus import Buses
from firmware_config.devices.door import KEY as KEY  # the registry's key for this driver
from firmware_config.devices.door import DoorConfig
from station_protocol import Kind

log = logging.getLogger(__name__)


class DoorDriver:
    """Reports the door's state at start and every debounced change after."""

    def __init__(self, config: DoorConfig) -> None:
        self.config = config
        self.device_id = config.id

    def _reading(self, state: DoorState, when: Any) -> Reading:
        return Reading(device=self.device_id, kind=Kind.DOOR, ts=when, fields={"state": state})

    async def run(self, emit: Emit) -> None:
        from gpiozero import DigitalInputDevice

        cfg = self.config
        queue: asyncio.Queue[Edge] = asyncio.Queue()
        with contextlib.ExitStack() as stack:
            contact = stack.enter_context(DigitalInputDevice(cfg.pin, pull_up=cfg.pull_up))
            tamper = (stack.enter_context(DigitalInputDevice(cfg.tamper_pin, pull_up=True))
                      if cfg.tamper_pin is not None else None)
            watch(contact, "contact", queue)
            if tamper is not None:
                watch(tamper, "tamper", queue)

            def sample() -> DoorState:
                return door_state(bool(contact.is_active), cfg.wiring, tamper is None or bool(tamper.is_active))

            reported = sample()
            opened_at = time.monotonic() if reported == "open" else None
            await emit(self._reading(reported, now()))
            while True:
                timeout = None
                if opened_at is not None and cfg.max_open_s is not None:
                    timeout = max(0.0, opened_at + cfg.max_open_s - time.monotonic())
                try:
                    async with asyncio.timeout(timeout):  # not wait_for: it can swallow a cancel on 3.11
                        first = await queue.get()
                except TimeoutError:
                    log.warning("%s: open for over %s s: reporting fault (wire cut?)", self.device_id, cfg.max_open_s)
                    reported, opened_at = "fault", None
                    await emit(self._reading("fault", now()))
                    continue
                # Debounce: wait until the contact has been quiet for debounce_ms, then take its level.
                quiet = cfg.debounce_ms / 1000
                while True:
                    try:
                        async with asyncio.timeout(quiet):
                            await queue.get()
                    except TimeoutError:
                        break
                state = sample()
                if state != reported:
                    reported = state
                    opened_at = first.mono if state == "open" else None
                    await emit(self._reading(state, first.at))


def build(config: DoorConfig, buses: Buses) -> DoorDriver:
    """The registry's factory for `door` devices."""
    return DoorDriver(config)
