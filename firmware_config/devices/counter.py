"""A people-flow counter's settings in a station file: its RS-485 bus, Modbus unit and registers."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from firmware_config.devices.fields import DeviceId

KEY = "counter"
Function = Literal["holding", "input"]
WordOrder = Literal["big", "little"]


class CounterRegisters(BaseModel):
    """Where the counter keeps its cumulative counts: two 32-bit values, two registers each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    function: Function = Field(default="holding", description="holding (FC 3) or input (FC 4) registers")
    in_address: int = Field(default=0, ge=0, le=65534, description="first register of the 32-bit 'in' counter")
    out_address: int = Field(default=2, ge=0, le=65534, description="first register of the 32-bit 'out' counter")
    word_order: WordOrder = Field(default="big", description="big: high word first; little: low word first")


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
    max_step: int = Field(
        default=100_000, ge=1, description="largest plausible count between readings; a larger drop is a reset"
    )
