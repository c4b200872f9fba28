"""The counter's trust rule on sequences of raw readings: one bad reading never counts a counter's lifetime total."""

import time
from collections.abc import Sequence
from typing import Any, cast

import pytest

from edge.drivers.counter import CounterDriver
from edge.drivers.counter_track import Limits, Raw, Track, advance, from_state, plausible, to_state
from edge.drivers.modbus_counts import decode_u32, encode_u32
from edge.outbox_event import encode_event
from firmware_config.devices.counter import CounterConfig
from station_protocol.messages import MAX_FLOW_PERIOD_S

DEFAULTS = CounterConfig.model_validate({"type": "counter", "id": "flow-1", "port": "/dev/ttyUSB0", "unit": 1})
LIMITS = Limits(DEFAULTS.max_per_min, DEFAULTS.max_step)


def run(readings: Sequence[tuple[int, int]], limits: Limits = LIMITS, every_s: float = 60.0
        ) -> list[tuple[int, int, str | None]]:
    """(in, out, counter_change) reported for each reading after the first, read `every_s` apart."""
    track: Track | None = None
    reported: list[tuple[int, int, str | None]] = []
    for n, (raw_in, raw_out) in enumerate(readings):
        track, counted = advance(track, Raw(raw_in, raw_out, 1_000_000.0 + n * every_s), limits)
        if counted is not None:
            reported.append((counted.in_, counted.out, counted.change))
    return reported


def entries(reported: list[tuple[int, int, str | None]]) -> tuple[int, int]:
    return sum(r[0] for r in reported), sum(r[1] for r in reported)


def test_a_high_misread_between_good_readings_counts_only_the_true_gain() -> None:
    # Before: the misread became the baseline and the next true value read as a reset, counting all 5010.
    reported = run([(5000, 4000), (900_000, 4000), (5010, 4003)])
    assert reported == [(0, 0, "jump"), (10, 3, None)]


def test_a_zero_misread_between_good_readings_counts_only_the_true_gain() -> None:
    reported = run([(5000, 4000), (0, 0), (5010, 4003)])
    assert reported == [(0, 0, "drop"), (10, 3, None)]


def test_a_misread_with_the_limit_written_loosely_still_counts_nothing_extra() -> None:
    # Even a station file that keeps the old 100,000 is held to the per-minute rate.
    assert entries(run([(5000, 4000), (0, 0), (5010, 4003)], Limits(60, 100_000))) == (10, 3)


def test_a_power_cut_restarts_both_counters_and_is_counted_one_reading_late() -> None:
    reported = run([(5000, 4000), (3, 2), (8, 2), (9, 4)])
    assert reported == [(0, 0, "drop"), (8, 2, "reset"), (1, 2, None)]


def test_a_power_cut_seen_on_in_only_is_applied_to_out_too() -> None:
    # 'out' was 3 before the cut and reads 5 after: 5 people left since the restart, not 2.
    assert run([(5000, 3), (4, 5), (6, 5)]) == [(0, 0, "drop"), (6, 5, "reset")]


def test_a_spare_counter_with_a_lower_total_counts_nothing_from_its_total() -> None:
    # Swapped in on purpose: its 2,000 are no visitors of this station.
    reported = run([(5000, 4000), (2000, 1900), (2010, 1905)])
    assert reported == [(0, 0, "drop"), (10, 5, "rebase")]


def test_a_spare_counter_with_a_higher_total_counts_nothing_from_its_total() -> None:
    reported = run([(5000, 4000), (900_000, 800_000), (900_010, 800_004), (900_011, 800_004)])
    assert reported == [(0, 0, "jump"), (10, 4, "rebase"), (1, 0, None)]


def test_two_misreads_in_a_row_that_disagree_count_nothing_extra() -> None:
    reported = run([(5000, 4000), (900_000, 4000), (12, 4000), (5010, 4001)])
    assert reported == [(0, 0, "jump"), (0, 0, "drop"), (10, 1, None)]


def test_a_wrap_past_two_to_the_32_is_counted_and_named() -> None:
    assert run([(2**32 - 5, 10), (4, 12)]) == [(9, 2, "wrap")]


def test_a_crowd_the_held_reading_doubted_is_counted_once_the_next_reading_spreads_it() -> None:
    # 80 in one minute is above 60 a minute, but 80 over two minutes is not: the baseline stayed, so it is counted.
    assert run([(100, 0), (180, 0), (180, 0)]) == [(0, 0, "jump"), (80, 0, None)]


def test_a_wrong_word_order_is_never_counted() -> None:
    # The counter is big-endian, the file says little: one person reads as 65,536.
    def misread(true: int) -> tuple[int, int]:
        return decode_u32(encode_u32(true, "big"), "little"), 0

    reported = run([misread(6), misread(7), misread(7), misread(9)])
    assert entries(reported) == (0, 0)
    assert [r[2] for r in reported] == ["jump", "rebase", "jump"]


@pytest.mark.parametrize(("seconds", "limit"), [(0.1, 60), (60, 60), (90, 90), (3600, 3600), (86_400 * 7, 10_000)])
def test_the_plausible_gain_grows_with_time_up_to_max_step(seconds: float, limit: int) -> None:
    assert plausible(LIMITS, seconds) == limit
    # The defaults at the longest interval a file may set stay below what one person adds in the wrong word order.
    assert plausible(LIMITS, 3600) < 65_536


def test_a_held_reading_survives_a_restart_and_old_states_still_read() -> None:
    track, _ = advance(None, Raw(5000, 4000, 100.0), LIMITS)
    track, _ = advance(track, Raw(3, 2, 160.0), LIMITS)
    assert from_state(to_state(track)) == track
    old = from_state({"in": 5000, "out": 4000, "ts": 100.0})  # written before readings were held
    assert old == Track(Raw(5000, 4000, 100.0), None, 100.0)
    assert from_state({"in": "5000", "out": 4000, "ts": 100.0}) is None
    assert from_state({"in": 5000, "out": 4000, "ts": 100.0, "held": {"in": -1}}) == old


def test_a_reading_after_more_than_a_year_keeps_its_counts_with_the_longest_period_the_protocol_takes() -> None:
    # A station switched off for over a year (or a clock stepped that far): the protocol refuses a longer period,
    # which would make the reading unsendable; the counts are kept, the period says "at least this long".
    driver = CounterDriver(DEFAULTS, cast(Any, None))  # the bus is not read here
    driver.restore({"in": 5000, "out": 4000, "ts": time.time() - 400 * 86_400})
    reading = driver._reading(5010, 4003)
    assert reading is not None and reading.fields["period_s"] == MAX_FLOW_PERIOD_S
    assert (reading.fields["in"], reading.fields["out"]) == (10, 3)
    encode_event("qd-a", reading, 1)  # valid: raises otherwise
