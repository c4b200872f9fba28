"""People-flow counter on RS-485: cumulative in/out registers read over Modbus RTU, reported as per-interval deltas."""

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from edge.drivers.base import Emit, Reading, health, now
from edge.drivers.counter_track import Limits, Raw, Track, advance, from_state, to_state
from edge.drivers.modbus_bus import BusError, Buses, ModbusBus
from edge.drivers.modbus_counts import decode_u32
from firmware_config.devices.counter import KEY as KEY  # the registry's key for this driver
from firmware_config.devices.counter import CounterConfig
from station_protocol import Kind
from station_protocol.messages import MAX_FLOW_PERIOD_S

log = logging.getLogger(__name__)


class CounterDriver:
    """Polls one unit; one flow reading per interval, health on every change between working and failing."""

    def __init__(self, config: CounterConfig, bus: ModbusBus) -> None:
        self.config = config
        self.device_id = config.id
        self.bus = bus
        self.limits = Limits(config.max_per_min, config.max_step)
        self._track: Track | None = None

    def restore(self, state: Mapping[str, Any] | None) -> None:
        """Resume from the raw counters stored with the last event (so counts made while down are not lost)."""
        self._track = from_state(state)
        if state and self._track is None:
            log.warning("%s: stored counter state does not read (%r): the next reading is a new baseline",
                        self.device_id, dict(state))

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
        previous = self._track
        self._track, counted = advance(previous, Raw(raw_in, raw_out, stamp.timestamp()), self.limits)
        if previous is None or counted is None:
            return None  # first contact ever: this is the baseline
        # At most the protocol's longest period: a reading after a year switched off (or a clock stepped that far)
        # keeps its counts, which a longer period would make unsendable.
        period_s = min(MAX_FLOW_PERIOD_S, max(1, round(stamp.timestamp() - previous.last_at)))
        fields: dict[str, Any] = {"period_s": period_s,
                                  "in": counted.in_, "out": counted.out, "counter_in": raw_in, "counter_out": raw_out}
        if counted.change is not None:
            # Sent, not only logged: the cloud sees which readings were doubted and which restarts it was told of.
            fields["counter_change"] = counted.change
            log.warning("%s: counters %s: trusted in=%d out=%d, read in=%d out=%d, counted in=%d out=%d",
                        self.device_id, counted.change, previous.base.in_, previous.base.out, raw_in, raw_out,
                        counted.in_, counted.out)
        return Reading(device=self.device_id, kind=Kind.FLOW, ts=stamp, fields=fields, state=to_state(self._track))

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
