"""Register decoding and deltas on recorded values from counters that reset and wrapped."""

import pytest

from edge.drivers.modbus_counts import Step, counter_step, decode_u32, encode_u32


@pytest.mark.parametrize(
    ("registers", "order", "value"),
    [([0x0001, 0x1170], "big", 70_000), ([0x1170, 0x0001], "little", 70_000), ([0xFFFF, 0xFFFF], "big", 2**32 - 1),
     ([0, 0], "little", 0)],
)
def test_decode(registers: list[int], order: str, value: int) -> None:
    assert decode_u32(registers, order) == value  # type: ignore[arg-type]
    assert encode_u32(value, order) == registers  # type: ignore[arg-type]


def test_decode_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode_u32([1, 2, 3])
    with pytest.raises(ValueError, match="out of range"):
        decode_u32([70_000, 1])


# (raw 'in' registers as read every minute, big word order) from a counter that wrapped, then lost power.
RECORDED = [
    [0xFFFF, 0xFFF0],  # 4294967280: baseline
    [0xFFFF, 0xFFFA],  # +10
    [0x0000, 0x0003],  # wrapped past 2**32: +9
    [0x0000, 0x0010],  # +13
    [0x0000, 0x0002],  # power cut, counting again from 0: +2
    [0x0000, 0x0002],  # nobody
]


def test_recorded_wrap_and_reset() -> None:
    values = [decode_u32(r) for r in RECORDED]
    steps, previous = [], None
    for value in values:
        steps.append(counter_step(previous, value, max_step=1000))
        previous = value
    assert steps == [Step(0, "first"), Step(10, "ok"), Step(9, "wrap"), Step(13, "ok"), Step(2, "reset"),
                     Step(0, "ok")]
    assert sum(s.delta for s in steps) == 34


def test_drop_smaller_than_max_step_from_far_below_is_reset() -> None:
    # 500 -> 100 is not a wrap (the forward distance is ~4 billion): the device restarted and counted 100.
    assert counter_step(500, 100, max_step=100_000) == Step(100, "reset")


def test_implausible_jump_counts_nobody() -> None:
    # A counter swapped for one that already counted 5 million: not 5 million visitors in a minute.
    assert counter_step(100, 5_000_000, max_step=100_000) == Step(0, "jump")
    assert counter_step(100, 100_100, max_step=100_000) == Step(100_000, "ok")


def test_a_fall_to_more_than_could_be_counted_since_is_no_reset() -> None:
    # 5000 -> 2000 within the limit of 60: no counter restarted from zero counts 2000 people that fast.
    assert counter_step(5000, 2000, max_step=60) == Step(0, "drop")
    assert counter_step(5000, 60, max_step=60) == Step(60, "reset")
