"""A Modbus RTU people counter (one or several units on one bus) answering on a pseudo-terminal.

The real driver opens the pty's slave side like a USB RS-485 adapter and talks to it unchanged. Fault modes per unit:
`silence` (no answer), `crc` (answers with a broken checksum), `garbage` (answers with random bytes), `noise` (random
bytes on the line before a good answer); `reset()` moves the counters like a power cut, `add` past 2**32 wraps them,
`swap()` puts in a spare counter with other totals, and `misread()` makes the next answers show wrong values once.
`unplug()` / `plug()` make the adapter vanish and come back at the same path (a symlink).
"""

import contextlib
import os
import random
import select
import threading
import tty
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from edge.drivers.modbus_counts import encode_u32
from firmware_config.devices.counter import WordOrder

Fault = Literal["silence", "crc", "garbage", "noise"] | None


def crc16(data: bytes) -> bytes:
    """Modbus RTU CRC (poly 0xA001, init 0xFFFF), low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes((crc & 0xFF, crc >> 8))


@dataclass
class SimCounter:
    """One counter unit's registers: cumulative in/out, 32 bits over two registers each."""

    unit: int
    people_in: int = 0
    people_out: int = 0
    in_address: int = 0
    out_address: int = 2
    word_order: WordOrder = "big"
    function: Literal["holding", "input"] = "holding"
    fault: Fault = None
    requests: int = 0
    # Wrong (in, out) values the next answers show instead of the true ones, one answer each (a misread register).
    misreads: list[tuple[int, int]] = field(default_factory=list)

    def add(self, people_in: int = 0, people_out: int = 0) -> None:
        self.people_in = (self.people_in + people_in) % (1 << 32)
        self.people_out = (self.people_out + people_out) % (1 << 32)

    def reset(self) -> None:
        """Power cut: the device starts counting from zero again."""
        self.people_in = self.people_out = 0

    def swap(self, people_in: int, people_out: int) -> None:
        """Another counter in its place (same unit id), with its own totals."""
        self.people_in, self.people_out = people_in, people_out

    def misread(self, people_in: int, people_out: int, answers: int = 1) -> None:
        """The next `answers` answers show these values; the true counts carry on underneath."""
        self.misreads.extend([(people_in, people_out)] * answers)

    def registers(self) -> dict[int, int]:
        shown = self.misreads.pop(0) if self.misreads else (self.people_in, self.people_out)
        regs: dict[int, int] = {}
        for address, value in ((self.in_address, shown[0]), (self.out_address, shown[1])):
            high_or_low = encode_u32(value, self.word_order)
            regs[address], regs[address + 1] = high_or_low
        return regs


@dataclass
class ModbusCounterSim:
    """Serve `counters` on a pty; `port` is a stable symlink to it (what the driver's config names)."""

    counters: list[SimCounter]
    port: Path
    frames_answered: int = 0
    bytes_dropped: int = 0
    _master: int | None = field(default=None, repr=False)
    _slave: int | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def unit(self, unit: int) -> SimCounter:
        return next(c for c in self.counters if c.unit == unit)

    def plug(self) -> None:
        """Attach the adapter: a fresh pty behind `port`."""
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        self._master, self._slave = master, slave
        with contextlib.suppress(FileNotFoundError):
            self.port.unlink()
        self.port.symlink_to(os.ttyname(slave))
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, args=(master,), name="modbus-sim", daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        """Pull the adapter out: the port path disappears and open handles fail."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with contextlib.suppress(FileNotFoundError):
            self.port.unlink()
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None

    def __enter__(self) -> "ModbusCounterSim":
        self.plug()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unplug()

    def _serve(self, master: int) -> None:
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(master, 256)
            except OSError:
                return
            buffer += chunk
            while len(buffer) >= 8:
                frame = buffer[:8]
                if crc16(frame[:6]) != frame[6:]:
                    buffer = buffer[1:]  # resynchronise byte by byte, like a real slave listening to a noisy line
                    self.bytes_dropped += 1
                    continue
                buffer = buffer[8:]
                reply = self._answer(frame)
                if reply:
                    with contextlib.suppress(OSError):
                        os.write(master, reply)

    def _answer(self, frame: bytes) -> bytes | None:
        unit, function = frame[0], frame[1]
        address, count = int.from_bytes(frame[2:4], "big"), int.from_bytes(frame[4:6], "big")
        counter = next((c for c in self.counters if c.unit == unit), None)
        if counter is None:
            return None  # nobody with that unit id on the bus
        counter.requests += 1
        if counter.fault == "silence":
            return None
        if counter.fault == "garbage":
            return random.randbytes(random.randint(3, 12))
        wanted = {"holding": 3, "input": 4}[counter.function]
        if function != wanted:
            pdu = bytes((unit, function | 0x80, 1))  # illegal function
        else:
            regs = counter.registers()
            if any(a not in regs for a in range(address, address + count)):
                pdu = bytes((unit, function | 0x80, 2))  # illegal data address
            else:
                data = b"".join(regs[a].to_bytes(2, "big") for a in range(address, address + count))
                pdu = bytes((unit, function, len(data))) + data
        crc = crc16(pdu)
        if counter.fault == "crc":
            crc = bytes((crc[0] ^ 0xFF, crc[1]))
        self.frames_answered += 1
        noise = random.randbytes(random.randint(1, 6)) if counter.fault == "noise" else b""
        return noise + pdu + crc
