"""Door magnet (reed switch) on GPIO: debounced open/closed changes stamped with when they happened; cut wire = fault.

A normally-closed (`nc`) reed contact opens when the door opens, so a cut wire reads as "open". Two ways tell a cut
wire apart: a 4-wire sensor's tamper loop on `tamper_pin` (open loop = fault at once), and `max_open_s`, after which
a door that never closes is reported as `fault` (implausible for a station's door). A contact that keeps changing
without ever holding `debounce_ms` for `chatter_s` (a loose magnet, interference on the wire) is a `health` fault.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime

from edge.drivers.base import Emit, Reading, health, now
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

    def _reading(self, state: DoorState, when: datetime) -> Reading:
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

            await self._follow(emit, queue, sample)

    async def _follow(self, emit: Emit, queue: "asyncio.Queue[Edge]", sample: Callable[[], DoorState]) -> None:
        """Report the start state, then each change that holds `debounce_ms`, a door open too long, and chatter.

        While the contact chatters the door keeps its last settled state and the `max_open_s` timer keeps running: a
        loose magnet or interference must not hide a door left open or a cut wire.
        """
        cfg = self.config
        settled = reported = sample()  # settled: the contact's debounced state; reported: the last `door` reading
        opened_at = time.monotonic() if settled == "open" else None
        written = now()  # the latest reading's time: a change is never stamped before a reading already written
        await emit(self._reading(reported, written))
        first: Edge | None = None  # the first edge of a change not yet settled
        last: Edge | None = None  # the latest edge
        edges = 0  # since `first`
        chattering = False  # reported as a health fault and not yet steady
        while True:
            settle_at = last.mono + cfg.debounce_ms / 1000 if first is not None and last is not None else None
            fault_at = opened_at + cfg.max_open_s if opened_at is not None and cfg.max_open_s is not None else None
            chatter_at = first.mono + cfg.chatter_s if first is not None and not chattering else None
            wakes = [t for t in (settle_at, fault_at, chatter_at) if t is not None]
            try:
                async with asyncio.timeout(max(0.0, min(wakes) - time.monotonic()) if wakes else None):  # not wait_for
                    edge = await queue.get()  # (it can swallow a cancel on 3.11)
            except TimeoutError:
                pass
            else:
                first, last, edges = first or edge, edge, edges + 1
                continue
            mono = time.monotonic()
            if fault_at is not None and mono >= fault_at:
                log.warning("%s: open for over %s s: reporting fault (wire cut?)", self.device_id, cfg.max_open_s)
                reported, opened_at, written = "fault", None, now()
                await emit(self._reading("fault", written))
            if first is not None and chatter_at is not None and mono >= chatter_at:
                chattering = True
                await emit(self._chatter(edges, mono - first.mono))
                written = now()
            if first is None or last is None or settle_at is None or mono < settle_at:
                continue
            # Quiet for debounce_ms: take the contact's level. A bounce's change happened at its first edge; after a
            # chatter through which something was reported, at the edge that ended it (never before that report).
            began = first if written <= first.at else last
            when = max(began.at, written)
            state = sample()
            if state != settled:
                settled, opened_at = state, (began.mono if state == "open" else None)
                if state != reported:
                    reported, written = state, when
                    await emit(self._reading(state, when))
            # else: a bounce that came back, or a door still open after its max_open_s fault (nothing new to say)
            if chattering:
                log.info("%s: door contact steady again", self.device_id)
                await emit(health(self.device_id, True, None, {"pin": cfg.pin}))
                written = now()
            first, last, edges, chattering = None, None, 0, False

    def _chatter(self, edges: int, for_s: float) -> Reading:
        error = (f"door contact chattering: {edges} changes in {for_s:.0f} s, none held {self.config.debounce_ms} ms "
                 "(loose magnet or interference on the wire?)")
        log.warning("%s: %s", self.device_id, error)
        return health(self.device_id, False, error, {"pin": self.config.pin, "changes": edges})


def build(config: DoorConfig, buses: Buses) -> DoorDriver:
    """The registry's factory for `door` devices."""
    return DoorDriver(config)
