"""Visits: a person re-seen within `gap_s` of when they were last seen is on the same visit (a pure rule)."""


class Visits:
    """Last sighting per person; `seen` says whether a sighting starts a new visit."""

    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s
        self._last: dict[str, float] = {}

    def seen(self, person: str, t: float) -> bool:
        """Record a sighting at `t` (seconds); True when it starts a new visit."""
        last = self._last.get(person)
        self._last[person] = t if last is None else max(last, t)
        if len(self._last) > 4096:
            self._prune(t)
        return last is None or t - last > self.gap_s

    def _prune(self, t: float) -> None:
        # People not seen for longer than the gap start a new visit anyway: forgetting them changes nothing.
        self._last = {p: last for p, last in self._last.items() if t - last <= self.gap_s}

    def drop(self, person: str) -> None:
        """Forget a person's last sighting (they were deleted from the gallery)."""
        self._last.pop(person, None)
