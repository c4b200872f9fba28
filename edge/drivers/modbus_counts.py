"""Pure arithmetic of a people counter's cumulative registers: decoding, deltas, resets and wrap-around."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from firmware_config.devices.counter import WordOrder

WRAP = 1 << 32


def decode_u32(registers: Sequence[int], word_order: WordOrder = "big") -> int:
    """Two 16-bit registers as one unsigned 32-bit counter; `big` = high word first (Modbus convention)."""
    if len(registers) != 2:
        raise ValueError(f"a 32-bit counter needs 2 registers, got {len(registers)}")
    high, low = registers if word_order == "big" else (registers[1], registers[0])
    if not (0 <= high <= 0xFFFF and 0 <= low <= 0xFFFF):
        raise ValueError(f"register values out of range: {list(registers)}")
    return (high << 16) | low


def encode_u32(value: int, word_order: WordOrder = "big") -> list[int]:
    """The inverse of decode_u32 (simulators and tests write counters with it)."""
    value %= WRAP
    high, low = value >> 16, value & 0xFFFF
    return [high, low] if word_order == "big" else [low, high]


Change = Literal["first", "ok", "wrap", "reset", "drop", "jump"]


@dataclass(frozen=True, slots=True)
class Step:
    """How one counter's raw value moved since the previous reading, and how many people that would be."""

    delta: int
    change: Change


def counter_step(previous: int | None, current: int, max_step: int) -> Step:
    """How one raw counter moved from `previous` to `current`, `max_step` being the most people plausible in between.

    A rise of at most `max_step` is `ok`. A counter that went down either wrapped past 2**32 (the forward distance is
    at most `max_step`: `wrap`) or restarted from zero; a restart can only be a `reset` (a power cut, the installer)
    when `current` is a count small enough to have been made since (at most `max_step`), otherwise the value is a
    `drop` (a misread, a swapped counter with a lower total). A larger rise is a `jump` (a misread, a swapped counter,
    a wrong word order). This judges one reading on its own: whether to trust it, and so to count `delta`, is decided
    over both counters and the next reading (edge/drivers/counter_track.py).
    """
    if previous is None:
        return Step(0, "first")
    if current >= previous:
        if current - previous > max_step:
            return Step(0, "jump")
        return Step(current - previous, "ok")
    forward = current + WRAP - previous
    if forward <= max_step:
        return Step(forward, "wrap")
    if current <= max_step:
        return Step(current, "reset")
    return Step(0, "drop")
