"""One shared Modbus RTU master per serial port: requests from several counters are serialised on it.

Blocking pymodbus/pyserial calls run in a worker thread so the agent's loop never waits on the wire. A failed open is
retried with exponential backoff and jitter; every failure becomes one `BusError` with a plain message, so a driver
reports health instead of dying.
"""

import asyncio
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from firmware_config.devices.counter import CounterConfig, Function

if TYPE_CHECKING:
    from pymodbus.client import ModbusSerialClient

log = logging.getLogger(__name__)


class BusError(Exception):
    """A request on the bus failed: port missing, no answer, a garbled or exception reply."""


class ModbusBus:
    """The serial master of one RS-485 port."""

    def __init__(
        self, port: str, *, baud: int = 9600, parity: str = "N", timeout_s: float = 0.5, max_backoff_s: float = 30.0
    ) -> None:
        self.port = port
        self.baud = baud
        self.parity = parity
        self.timeout_s = timeout_s
        self.max_backoff_s = max_backoff_s
        self._client: ModbusSerialClient | None = None
        self._lock = asyncio.Lock()
        self._thread_lock = threading.Lock()
        self._failures = 0
        self._next_open = 0.0

    async def read(self, unit: int, function: Function, address: int, count: int) -> list[int]:
        """Read `count` registers of `unit`; raises BusError. One request on the wire at a time."""
        async with self._lock:
            return await asyncio.to_thread(self._read, unit, function, address, count)

    def close(self) -> None:
        with self._thread_lock:
            self._drop()

    def _drop(self) -> None:
        if self._client is not None:
            try:
                self._client.close()  # type: ignore[no-untyped-call]
            except Exception as exc:  # closing a vanished adapter may fail; the port is gone either way
                log.debug("closing %s: %s", self.port, exc)
            self._client = None

    def _open(self) -> "ModbusSerialClient":
        from pymodbus.client import ModbusSerialClient
        from pymodbus.framer import FramerType

        if self._client is not None:
            return self._client
        now = time.monotonic()
        if now < self._next_open:
            raise BusError(f"serial port {self.port} unavailable; retrying in {self._next_open - now:.1f} s")
        client = ModbusSerialClient(
            self.port, framer=FramerType.RTU, baudrate=self.baud, parity=self.parity,
            timeout=self.timeout_s, retries=0,
        )
        if not client.connect():
            self._failures += 1
            # Full jitter: many agents that lost their adapter together do not retry in lockstep.
            backoff = min(self.max_backoff_s, 0.5 * 2 ** min(self._failures, 10))
            self._next_open = now + random.uniform(backoff / 2, backoff)
            client.close()  # type: ignore[no-untyped-call]
            raise BusError(f"cannot open serial port {self.port}")
        if self._failures:
            log.info("serial port %s open again", self.port)
        self._failures = 0
        self._client = client
        return client

    def _read(self, unit: int, function: Function, address: int, count: int) -> list[int]:
        from pymodbus.exceptions import ModbusException
        from serial import SerialException

        with self._thread_lock:
            client = self._open()
            try:
                if function == "holding":
                    response = client.read_holding_registers(address, count=count, device_id=unit)
                else:
                    response = client.read_input_registers(address, count=count, device_id=unit)
            except (ModbusException, SerialException, OSError) as exc:
                # The adapter vanished (EIO) or the line is garbled: reopen on the next request. A unit that is merely
                # silent leaves the port healthy.
                if not client.connected or isinstance(exc, SerialException | OSError):
                    self._drop()
                raise BusError(f"unit {unit} on {self.port}: {_plain(exc)}") from None
            if response.isError():
                raise BusError(f"unit {unit} on {self.port}: exception reply {response}")
            registers = list(response.registers)
            if len(registers) != count:
                raise BusError(f"unit {unit} on {self.port}: {len(registers)} registers in reply, expected {count}")
            return registers


def _plain(exc: Exception) -> str:
    text = str(exc).replace("Modbus Error: ", "").strip()
    return text or type(exc).__name__


@dataclass
class Buses:
    """One shared serial master per port, created on first use."""

    by_port: dict[str, ModbusBus] = field(default_factory=dict)

    def for_counter(self, config: CounterConfig) -> ModbusBus:
        bus = self.by_port.get(config.port)
        if bus is None:
            bus = ModbusBus(config.port, baud=config.baud, parity=config.parity, timeout_s=config.timeout_s)
            self.by_port[config.port] = bus
        return bus

    def close(self) -> None:
        for bus in self.by_port.values():
            bus.close()
