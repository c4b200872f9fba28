"""A station's hardware, simulated at its boundary, driven through a day's ground truth with the real agent on top.

Counters answer Modbus RTU on pseudo-terminals, doors and buttons are gpiozero mock pins, and the real `Agent` (real
drivers, outbox, publisher) reads them and publishes to the broker. Time is real, optionally accelerated: what the
cloud receives carries the agent's own timestamps, so `drive` returns the ground truth as it was played (times
mapped onto the wall clock). The face camera is left out (it needs real frames; see edge/face).
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from firmware_config.station import StationConfig
from simulators.gpio import SimButton, SimDoor, mock_factory
from simulators.modbus_counter import ModbusCounterSim, SimCounter
from simulators.scenario import GroundTruth, Press, Visit

log = logging.getLogger(__name__)


@dataclass
class Rig:
    """The simulated devices of one station and the rewritten config that points the agent at them."""

    config: StationConfig
    counters: dict[str, SimCounter] = field(default_factory=dict)
    doors: dict[str, SimDoor] = field(default_factory=dict)
    buttons: dict[str, tuple[SimButton, float]] = field(default_factory=dict)


@contextlib.contextmanager
def station_rig(config: StationConfig, workdir: Path, speed: float = 1.0) -> Iterator[Rig]:
    """Pseudo-terminal buses and mock pins for `config`'s devices; counters poll `speed` times faster."""
    factory = mock_factory()
    buses: dict[str, list[tuple[int, Any]]] = {}
    for index, device in enumerate(config.devices):
        if device.type == "counter":
            buses.setdefault(device.port, []).append((index, device))
    devices: list[Any] = []
    rig = Rig(config)
    with contextlib.ExitStack() as stack:
        ports: dict[str, Path] = {}
        for number, (port, members) in enumerate(buses.items()):
            sims = [SimCounter(d.unit, in_address=d.registers.in_address, out_address=d.registers.out_address,
                               word_order=d.registers.word_order, function=d.registers.function) for _, d in members]
            bus = stack.enter_context(ModbusCounterSim(sims, workdir / f"ttyRS485-{number}"))
            ports[port] = bus.port
            for (_, device), sim in zip(members, sims, strict=True):
                rig.counters[device.id] = sim
        for device in config.devices:
            if device.type == "counter":
                interval = max(0.05, device.interval_s / max(speed, 1.0))
                # People pass `speed` times faster too: the plausible rate per (real) minute follows, or a busy
                # played hour would read as an implausible jump and count nobody.
                rate = device.max_per_min * max(speed, 1.0)
                devices.append(device.model_copy(update={"port": str(ports[device.port]), "interval_s": interval,
                                                         "max_per_min": rate}))
            elif device.type == "door":
                door = SimDoor(factory, device.pin, device.tamper_pin)
                rig.doors[device.id] = door
                devices.append(device)
            elif device.type == "button":
                rig.buttons[device.id] = (SimButton(factory, device.pin), device.long_press_s)
                devices.append(device)
        agent = config.agent.model_copy(update={"outbox": workdir / "outbox.sqlite3", "clock_check": "year"})
        rig.config = config.model_copy(update={"devices": devices, "agent": agent})
        yield rig


def _actions(truth: GroundTruth) -> list[tuple[datetime, str, Any]]:
    actions: list[tuple[datetime, str, Any]] = []
    for opened, closed in truth.open_intervals:
        actions += [(opened, "open", None), (closed, "close", None)]
    for visit in truth.visits:
        actions += [(visit.arrive, "in", visit), (visit.leave, "out", visit)]
    for press in truth.presses:
        actions.append((press.at, "press", press))
    return sorted(actions, key=lambda a: (a[0], a[1]))


def drive(rig: Rig, truth: GroundTruth, *, speed: float, start: datetime | None = None,
          end: datetime | None = None) -> GroundTruth:
    """Play the truth's actions between `start` and `end` on the rig; returns the truth as played (wall clock)."""
    actions = [a for a in _actions(truth) if (start is None or a[0] >= start) and (end is None or a[0] < end)]
    if not actions:
        return replace(truth, open_intervals=[], visits=[], presses=[])
    origin, began = (start or actions[0][0]), time.monotonic()
    wall0 = datetime.now(UTC)

    def played(at: datetime) -> datetime:
        return wall0 + (at - origin) / speed

    main_counter = next(iter(rig.counters.values()), None)
    main_door = next(iter(rig.doors.values()), None)
    for door in rig.doors.values():
        door.wire_up()
        door.close()
    for at, action, what in actions:
        time.sleep(max(0.0, began + (at - origin).total_seconds() / speed - time.monotonic()))
        if action in ("open", "close") and main_door is not None:
            main_door.open() if action == "open" else main_door.close()
        elif action in ("in", "out") and main_counter is not None:
            main_counter.add(1 if action == "in" else 0, 1 if action == "out" else 0)
        elif action == "press" and rig.buttons:
            button, long_press_s = next(iter(rig.buttons.values()))
            hold = long_press_s + 0.5 if what.cancelled_at is not None else 0.1
            threading.Thread(target=button.press, args=(hold,), daemon=True).start()
    visits = [Visit(v.person, v.role, played(v.arrive), played(v.leave), v.enrolled) for v in truth.visits
              if (start is None or v.arrive >= start) and (end is None or v.arrive < end)]
    presses = [Press(p.call, played(p.at), played(p.cancelled_at) if p.cancelled_at else None)
               for p in truth.presses if (start is None or p.at >= start) and (end is None or p.at < end)]
    intervals = [(played(max(a, origin)), played(min(b, end or b))) for a, b in truth.open_intervals
                 if (end is None or a < end) and (start is None or b > start)]
    return replace(truth, open_intervals=intervals, visits=visits, presses=presses)


def run_agent_with(rig: Rig, work: "Any") -> None:
    """Run the real agent on the rig while `work()` drives it; stop once the outbox has drained."""
    from edge.agent import Agent

    agent = Agent(rig.config, fsync=False, heartbeat_s=60)
    loop = asyncio.new_event_loop()
    task = loop.create_task(agent.run())
    thread = threading.Thread(target=lambda: loop.run_until_complete(asyncio.gather(task, return_exceptions=True)),
                              name="agent", daemon=True)
    thread.start()
    try:
        # Doors report their first state once their driver holds the pin; wiring them before that would be undone
        # by the driver setting the pin's pull-up.
        deadline = time.monotonic() + 15
        while not set(rig.doors) <= set(agent.outbox.seqs()) and time.monotonic() < deadline:
            time.sleep(0.02)
        work()
        time.sleep(max(d.interval_s for d in rig.config.devices if d.type == "counter") * 2
                   if rig.counters else 0.5)
        deadline = time.monotonic() + 30
        while agent.outbox.depth and time.monotonic() < deadline:
            time.sleep(0.05)
        if agent.outbox.depth:
            log.warning("stopping with %d events still in the outbox", agent.outbox.depth)
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(15)
        loop.close()


def day_window(truth: GroundTruth, start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """`HH:MM` bounds on the truth's day, in its timezone."""
    def at(text: str | None) -> datetime | None:
        if text is None:
            return None
        hour, minute = (int(x) for x in text.split(":"))
        zone = (truth.scheduled[0][0].tzinfo if truth.scheduled else None) or UTC
        return datetime.combine(truth.day, datetime.min.time(), zone) + timedelta(hours=hour, minutes=minute)

    return at(start), at(end)
