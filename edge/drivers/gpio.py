"""gpiozero glue shared by the GPIO drivers: edges from gpiozero's thread onto the agent's loop, and door logic."""

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from edge.drivers.base import now
from firmware_config.devices.door import Wiring

DoorState = Literal["open", "closed", "fault"]


@dataclass(frozen=True, slots=True)
class Edge:
    """A pin changed: which input, its new level (True = contact closed), and when (wall clock and monotonic)."""

    source: str
    active: bool
    at: datetime
    mono: float


def door_state(contact_closed: bool, wiring: Wiring, tamper_ok: bool = True) -> DoorState:
    """The door's state from its contact. `nc`: the reed contact is closed while the magnet is near (door shut)."""
    if not tamper_ok:
        return "fault"
    closed = contact_closed if wiring == "nc" else not contact_closed
    return "closed" if closed else "open"


def watch(device: Any, source: str, queue: "asyncio.Queue[Edge]") -> None:
    """Forward a gpiozero input's edges onto `queue` (gpiozero calls back from its own thread)."""
    loop = asyncio.get_running_loop()

    def changed(active: bool) -> None:
        edge = Edge(source, active, now(), time.monotonic())
        loop.call_soon_threadsafe(queue.put_nowait, edge)

    device.when_activated = lambda: changed(True)
    device.when_deactivated = lambda: changed(False)
