"""The debounced contact on its own: a change counts once it has held `quiet_s`, and a long-press deadline gives up
only while nothing is pending (edges are played on the event loop at chosen monotonic times)."""

import asyncio
import time
from datetime import UTC, datetime

from edge.drivers.debounce import Debounced, next_change
from edge.drivers.gpio import Edge


def edge(active: bool, mono: float) -> Edge:
    return Edge("button", active, datetime.now(UTC), mono)


def test_a_change_counts_once_it_has_held_quiet_s_and_is_stamped_with_its_first_edge() -> None:
    line = Debounced(False, 0.03)
    first = edge(True, 10.0)
    for e in (first, edge(False, 10.002), edge(True, 10.004)):  # making contact, with bounce
        line.feed(e)
    assert line.due() == 10.004 + 0.03  # quiet_s after the latest edge
    assert line.settle(10.03) is None and line.settled is False
    assert line.settle(10.035) is first and line.settled is True
    line.feed(edge(False, 10.5))
    line.feed(edge(True, 10.501))  # a 1 ms break while held: a glitch, forgotten once quiet
    assert line.settle(10.531) is None and line.settled is True and line.due() is None


async def _play(line: Debounced, until_in: float, script: list[tuple[float, bool]]) -> Edge | None:
    """next_change with a deadline `until_in` s from now, while `script` plays (delay from now, level) edges."""
    loop, queue = asyncio.get_running_loop(), asyncio.Queue[Edge]()
    start = time.monotonic()

    def put(level: bool) -> None:
        queue.put_nowait(edge(level, time.monotonic()))

    for delay, level in script:
        loop.call_at(loop.time() + delay, put, level)
    return await next_change(queue, line, until=start + until_in)


def test_a_release_just_before_the_deadline_is_a_release_and_bounce_across_it_is_not() -> None:
    pressed = Debounced(True, 0.05)
    # Let go 20 ms before the deadline (with a bounce): it settles after the deadline but is still the release.
    released = asyncio.run(_play(pressed, 0.2, [(0.18, False), (0.182, True), (0.184, False)]))
    assert released is not None and not released.active and pressed.settled is False
    held = Debounced(True, 0.05)
    # A 4 ms flicker across the deadline while still held: the deadline passes (a long press).
    assert asyncio.run(_play(held, 0.2, [(0.198, False), (0.202, True)])) is None and held.settled is True
