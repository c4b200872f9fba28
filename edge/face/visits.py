"""Visits: a person re-seen within `gap_s` of when they were last seen is on the same visit (a pure rule).

Times are wall-clock seconds (epoch), so that the book can be kept across a restart of the agent: someone already
inside when it restarts is on the visit that was observed before, not on a new one.
"""

from collections.abc import Mapping


class Visits:
    """Last sighting per person; `seen` says whether a sighting starts a new visit."""

    def __init__(self, gap_s: float, last: Mapping[str, float] | None = None) -> None:
        self.gap_s = gap_s
        self._last: dict[str, float] = dict(last or {})

    def seen(self, person: str, t: float) -> bool:
        """Record a sighting at `t` (epoch seconds); True when it starts a new visit."""
        last = self._last.get(person)
        # A clock set back by more than the gap (a Raspberry Pi has no battery clock; a wrong network time is later
        # corrected) must not hold everyone on their old visit until it catches up: count it as a new visit.
        new = last is None or t - last > self.gap_s or last - t > self.gap_s
        self._last[person] = t if new or last is None else max(last, t)
        if len(self._last) > 4096:
            self._prune(t)
        return new

    def _prune(self, t: float) -> None:
        # People not seen for longer than the gap start a new visit anyway: forgetting them changes nothing.
        self._last = {p: last for p, last in self._last.items() if abs(t - last) <= self.gap_s}

    def drop(self, person: str) -> None:
        """Forget a person's last sighting (they were deleted from the gallery)."""
        self._last.pop(person, None)

    def open_at(self, t: float) -> dict[str, float]:
        """The last sightings still within the gap at `t` (epoch seconds): the visits a restart must not count
        again."""
        return {p: last for p, last in self._last.items() if abs(t - last) <= self.gap_s}
