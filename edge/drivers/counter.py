"""People-flow counter on RS-485: cumulative in/out registers read over Modbus RTU, reported as per-interval deltas."""

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from edge.drivers.base import Emit, Reading, health, now
from edge.drivers.modbus_bus import BusError, Buses, ModbusBus
from edge.drivers.modbus_counts import counter_step, decode_u32
from firmware_config.devices.counter import KEY as KEY  # the registry's key for this driver
from firmware_config.devices.counter import CounterConfig
from station_protocol import Kind

log = logging.getLogger(__name__)


class CounterDriver:
    """Polls one unit; one flow reading per interval, health on every change between working and failing."""

    def __init__(self, config: CounterConfig, bus: ModbusBus) -> None:
        self.config = config
        self.device_id = config.id
        self.bus = bus
        self._last: dict[str, Any] | None = None

    def restore(self, state: Mapping[str, Any] | None) -> None:
        """Resume from the raw counters stored with the last event (so counts made while down are not lost)."""
        self._last = dict(state) if state else None

    async def _read_counts(self) -> tuple[int, int]:
        regs = self.config.registers
        start = min(regs.in_address, regs.out_address)
        span = max(regs.in_address, regs.out_address) + 2 - start
        if span <= 16:  # one request when the two counters sit close together
            values = await self.bus.read(self.config.unit, regs.function, start, span)
            pair_in = values[regs.in_address - start: regs.in_address - start + 2]
            pair_out = values[regs.out_address - start: regs.out_address - start + 2]
        else:
            pair_in = await self.bus.read(self.config.unit, regs.function, regs.in_address, 2)
            pair_out = await self.bus.read(self.config.unit, regs.function, regs.out_address, 2)
        return decode_u32(pair_in, regs.word_order), decode_u32(pair_out, regs.word_order)

    def _reading(self, raw_in: int, raw_out: int) -> Reading | None:
        stamp = now()
        last = self._last
        state = {"in": raw_in, "out": raw_out, "ts": stamp.timestamp()}
        self._last = state
        if last is None:
            return None  # first contact ever: this is the baseline
        step_in = counter_step(last["in"], raw_in, self.config.max_step)
        step_out = counter_step(last["out"], raw_out, self.config.max_step)
        for name, step in (("in", step_in), ("out", step_out)):
            if step.change in ("wrap", "reset", "jump"):
                log.warning("%s: %s counter %s (%d -> %d)", self.device_id, name, step.change, last[name],
                            raw_in if name == "in" else raw_out)
        period = max(1, round(stamp.timestamp() - float(last["ts"])))
        fields = {"period_s": period, "in": step_in.delta, "out": step_out.delta,
                  "counter_in": raw_in, "counter_out": raw_out}
        return Reading(device=self.device_id, kind=Kind.FLOW, ts=stamp, fields=fields, state=state)

    async def run(self, emit: Emit) -> None:
        interval = self.config.interval_s
        healthy: bool | None = None
        failures = 0
        next_poll = time.monotonic()
        while True:
            try:
                raw_in, raw_out = await self._read_counts()
            except BusError as exc:
                failures += 1
                if healthy is not False:
                    log.warning("%s: %s", self.device_id, exc)
                    await emit(health(self.device_id, False, str(exc), {"port": self.bus.port,
                                                                         "unit": self.config.unit}))
                    healthy = False
                # An unreachable unit is asked less often so it does not hog the shared bus.
                delay = min(max(interval, 30.0), interval * 2 ** min(failures, 6))
                next_poll = time.monotonic() + delay
            else:
                failures = 0
                if healthy is not True:
                    await emit(health(self.device_id, True, None, {"port": self.bus.port, "unit": self.config.unit}))
                    healthy = True
                reading = self._reading(raw_in, raw_out)
                if reading is not None:
                    await emit(reading)
                next_poll += interval
                if next_poll < time.monotonic():  # fell behind (slow bus): skip missed slots, keep the cadence
                    next_poll = time.monotonic() + interval
            await asyncio.sleep(max(0.0, next_poll - time.monotonic()))


def build(config: CounterConfig, buses: Buses) -> CounterDriver:
    """The registry's factory for `counter` devices."""
    return CounterDriver(config, buses.for_counter(config))
