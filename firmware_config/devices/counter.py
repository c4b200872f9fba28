"""A people-flow counter's settings in a station file: its RS-485 bus, Modbus unit and registers."""

import math
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from firmware_config.devices.fields import DeviceId

KEY = "counter"
Function = Literal["holding", "input"]
WordOrder = Literal["big", "little"]
# What one person adds to a 32-bit counter read in the wrong word order (the low word taken for the high one).
WORD_ORDER_STEP = 1 << 16
# Under a minute people come in bursts: the rate is applied to at least this many seconds.
MIN_WINDOW_S = 60.0


def plausible_gain(max_per_min: float, max_step: int, seconds: float) -> int:
    """The most people a counter can plausibly gain in `seconds`: `max_per_min` a minute over at least a minute, and
    never more than `max_step`. The driver doubts any larger gain (edge/drivers/counter_track.py)."""
    return min(max_step, math.ceil(max_per_min * max(seconds, MIN_WINDOW_S) / 60.0))


class CounterRegisters(BaseModel):
    """Where the counter keeps its cumulative counts: two 32-bit values, two registers each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    function: Function = Field(default="holding", description="holding (FC 3) or input (FC 4) registers")
    in_address: int = Field(default=0, ge=0, le=65534, description="first register of the 32-bit 'in' counter")
    out_address: int = Field(default=2, ge=0, le=65534, description="first register of the 32-bit 'out' counter")
    word_order: WordOrder = Field(default="big", description="big: high word first; little: low word first")

    @model_validator(mode="after")
    def _counters_apart(self) -> Self:
        # Each counter is 32 bits over two registers: 'in' at 0 and 'out' at 1 would share register 1, and the driver
        # would read one half of each value as the other's.
        if abs(self.in_address - self.out_address) < 2:
            raise ValueError(
                f"in_address {self.in_address} and out_address {self.out_address} overlap: each counter takes two "
                f"registers (in: {self.in_address}-{self.in_address + 1}, out: {self.out_address}-"
                f"{self.out_address + 1}); put them at least 2 apart")
        return self


class CounterConfig(BaseModel):
    """A people-flow counter on a Modbus RTU bus; counters sharing a port share one serial master."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["counter"]
    id: DeviceId
    port: str = Field(description="serial device, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...")
    baud: int = Field(default=9600, description="baud rate", json_schema_extra={"enum": [1200, 2400, 4800, 9600,
                                                                                       19200, 38400, 57600, 115200]})
    parity: Literal["N", "E", "O"] = "N"
    unit: int = Field(ge=1, le=247, description="Modbus unit (slave) id")
    interval_s: float = Field(default=60, ge=0.01, le=3600, description="seconds between readings")
    timeout_s: float = Field(default=0.5, gt=0, le=10, description="seconds to wait for an answer")
    registers: CounterRegisters = CounterRegisters()
    # How many people a reading may plausibly add: at most `max_per_min` a minute over the time since the last trusted
    # reading (counted as at least one minute, so a burst at a short interval is not doubted), and never more than
    # `max_step` however long that was (plausible_gain). Anything more is a `jump` held for confirmation. Both defaults
    # stay far below 65,536, what one person adds when `word_order` is wrong, so that mistake is never counted.
    max_per_min: float = Field(
        default=60, gt=0,
        description="most people one doorway passes in a minute (60: one a second, far above an eldercare station's "
                    "busiest door)")
    max_step: int = Field(
        default=10_000, ge=1,
        description="largest plausible count between two readings however far apart (caps max_per_min over a long "
                    "gap)")

    @model_validator(mode="after")
    def _limit_below_word_order_step(self) -> Self:
        # A limit that lets one reading gain 65,536 people would count a wrong word_order as visitors.
        limit = plausible_gain(self.max_per_min, self.max_step, self.interval_s)
        if limit >= WORD_ORDER_STEP:
            raise ValueError(
                f"max_per_min {self.max_per_min:g} and max_step {self.max_step} let one reading every "
                f"{self.interval_s:g} s gain {limit} people; one person reads as {WORD_ORDER_STEP} when word_order is "
                f"wrong, so keep the gain per reading below {WORD_ORDER_STEP}")
        return self
