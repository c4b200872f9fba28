"""Windows in which the platform lost messages (an ingester's session the broker no longer had): which of them touch
a stretch, and how a town reads them.

In such a window a share of every station's door, counter, face and heartbeat messages never reached the platform,
though each station was acknowledged and deleted them. What the sensors show then is short by the platform's fault:
a day touching a window is flagged, and a spot check whose judged stretch touches one is not judged on the sensors.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from cloud.rules.intervals import Interval, merge

FLAG_PLATFORM_LOST = "platform_lost_messages"


def overlapping(losses: Iterable[Interval], lo: float, hi: float) -> list[Interval]:
    """The (merged) loss windows that share a moment with [lo, hi), whole: a window is evidence as recorded."""
    return [(s, e) for s, e in merge(losses) if s < hi and e > lo]


def describe(windows: Sequence[Interval], zone: ZoneInfo) -> list[str]:
    """Each window as local `YYYY-MM-DD HH:MM to YYYY-MM-DD HH:MM` (minutes rounded outward: never narrower)."""
    out = []
    for s, e in windows:
        start = datetime.fromtimestamp(s - s % 60, zone)
        end = datetime.fromtimestamp(e + (-e) % 60, zone)
        out.append(f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}")
    return out


def note(windows: Sequence[Interval], zone: ZoneInfo) -> str:
    """The day's note naming the windows in the station's local time."""
    return (f"the platform lost a share of every station's messages {', '.join(describe(windows, zone))} "
            f"({zone.key}): what the sensors show then is incomplete through no fault of the station")
