"""A contact's debounced level: a change counts only once the line has held its new level for a quiet time.

A mechanical contact bounces for a few milliseconds when it makes or breaks, and on a real Pi gpiozero passes every
raw edge on. Taking the first edge of a release as the release would read the bounce that follows as a new press, so
a change is believed only after no edge came for `quiet_s`; it is stamped with the first edge that left the old level
(when it happened, not when debouncing ended). Times are the edges' monotonic stamps, never the wall clock.
"""

import asyncio
import time

from edge.drivers.gpio import Edge


class Debounced:
    """The level the driver believes (`settled`) and the raw edges that may change it.

    Edges with no quiet gap of `quiet_s` between them are one burst. When a burst ends, the line's level is the new
    settled level; a burst that ends back at the old level was bounce or a glitch and changes nothing.
    """

    def __init__(self, level: bool, quiet_s: float) -> None:
        self.settled = level
        self.quiet_s = quiet_s
        self._raw = level
        self._last = 0.0  # monotonic time of the latest edge
        self._first: Edge | None = None  # the first edge of the burst not yet over

    def feed(self, edge: Edge) -> None:
        """A raw edge from the pin."""
        self._raw, self._last = edge.active, edge.mono
        if self._first is None:
            self._first = edge

    def due(self) -> float | None:
        """When the current burst is over if no edge comes before (monotonic); None when there is none."""
        return None if self._first is None else self._last + self.quiet_s

    def settle(self, mono: float) -> Edge | None:
        """At monotonic time `mono`: the first edge of a burst now over that changed the level, if any."""
        due = self.due()
        if due is None or mono < due:
            return None
        first, self._first = self._first, None
        if self._raw == self.settled:
            return None
        self.settled = self._raw
        return first


async def next_change(queue: "asyncio.Queue[Edge]", line: Debounced, until: float | None = None) -> Edge | None:
    """Wait for the line's next settled change and return its first edge; or None at monotonic time `until`.

    `until` gives up only once no burst of edges is pending: one that began before it is seen through, so a release a
    moment before a long-press deadline is a release (and a flicker straddling the deadline is not one).
    """
    while True:
        while not queue.empty():  # edges already stamped are taken before judging the quiet time
            line.feed(queue.get_nowait())
        mono = time.monotonic()
        change = line.settle(mono)
        if change is not None:
            return change
        due = line.due()
        if due is None and until is not None and mono >= until:
            return None
        wake = due if due is not None else until
        try:
            async with asyncio.timeout(None if wake is None else max(0.0, wake - mono)):  # not wait_for (3.11 cancel)
                line.feed(await queue.get())
        except TimeoutError:
            continue
