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


Change = Literal["first", "ok", "wrap", "reset", "jump"]


@dataclass(frozen=True, slots=True)
class Step:
    """How many people one counter saw since its previous reading, and how the raw value moved."""

    delta: int
    change: Change


def counter_step(previous: int | None, current: int, max_step: int) -> Step:
    """The delta from `previous` to `current` raw counts.

    A counter that went down either wrapped past 2**32 (the forward distance is small) or was reset to zero by a power
    cut or the installer (then everything counted since the reset is `current`). `max_step` is the largest plausible
    forward distance between two readings: above it a decrease is a reset, not a wrap, and an increase is a `jump`
    (a replaced device, a misread register) that counts nobody and becomes the new baseline.
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
    return Step(current, "reset")
