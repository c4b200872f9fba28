"""Windows in which the platform lost messages (an ingester's session the broker no longer had): which of them touch
a stretch, and how a town reads them.

In such a window a share of every station's door, counter, face and heartbeat messages never reached the platform,
though each station was acknowledged and deleted them. What the sensors show then is short by the platform's fault:
a day touching a window is flagged, and a spot check whose judged stretch touches one is not judged on the sensors.

A state the sensors set before a window and nothing received changed since (a door reported open, visitors counted in
and not out) is not evidence after it: the message ending it ("closed", the exits) may be among those lost, so a shut
station would look open until its next door message, or all session. Such spans are cut at the window (`trusted`).

A window is in the time the messages were *sent*. A station sending its outbox's backlog after a network outage sends
messages stamped hours or days before, oldest first, so what the platform lost of it is older than the window: the
readings stamped between the last one received before the window and the first one received after it
(`backlog_gaps`). Those stretches are judged like the window, for that station only.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from cloud.rules.intervals import Interval, merge
from cloud.rules.observations import Obs

FLAG_PLATFORM_LOST = "platform_lost_messages"


def overlapping(losses: Iterable[Interval], lo: float, hi: float) -> list[Interval]:
    """The (merged) loss windows that share a moment with [lo, hi), whole: a window is evidence as recorded."""
    return [(s, e) for s, e in merge(losses) if s < hi and e > lo]


def trusted(spans: Iterable[Interval], losses: Sequence[Interval]) -> list[Interval]:
    """The part of each state span (from the message that set it to the one that ended it, or the day's end) that no
    loss window precedes: a span is cut where the first window sharing a moment with it starts (or dropped, if that
    window already covers its start: what set it arrived while messages were being lost). Spans are taken one by one
    (one per device), not merged, so one door's doubt does not cut another's."""
    windows = merge(losses)
    out: list[Interval] = []
    for s, e in spans:
        cut = next((max(ws, s) for ws, we in windows if ws < e and we > s), e)
        if cut > s:
            out.append((s, cut))
    return out


# What the outbox replays in order and a town reads as evidence. Heartbeats, statuses and health reports are left out:
# their times may not be the agent's to choose (a last will stamped at connection, a heartbeat before NTP).
READINGS = frozenset(("flow", "door", "face", "call"))


def backlog_gaps(readings: Sequence[Obs], losses: Sequence[Interval], late_s: float) -> list[Interval]:
    """The stretches (in the readings' own time) of one station's outbox backlog that a loss window may have taken:
    between two readings consecutive in time received before and after a window (or in it: two ingesters share the
    station's messages, and one lost its share), where either was
    received more than `late_s` after its time (the agent was sending its backlog). `readings` sorted by time, of
    one station. Readings received promptly on both sides are the live case the window itself covers; with no
    receipt time (lag 0) nothing is a backlog."""
    windows = merge(losses)
    if not windows:
        return []
    gaps = []
    for a, b in pairwise(readings):
        if (a.lag <= late_s and b.lag <= late_s) or b.t <= a.t:
            continue
        got_a, got_b = a.t + a.lag, b.t + b.lag
        if got_a <= got_b and any(ws <= got_b and we >= got_a for ws, we in windows):
            gaps.append((a.t, b.t))
    return merge(gaps)


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


def backlog_note(gaps: Sequence[str], zone: ZoneInfo) -> str:
    """The day's note naming the stretches (local `HH:MM-HH:MM`) of the station's backlog the platform may have lost."""
    return (f"readings stamped {', '.join(gaps)} ({zone.key}) were being sent from the agent's outbox after an outage "
            "when the platform lost messages: some may be missing through no fault of the station, and a spot check "
            "touching them is not judged on the sensors")


def unconfirmed_note(spans: Sequence[str], zone: ZoneInfo) -> str:
    """The day's note naming the working hours (local `HH:MM-HH:MM`) open only on a state from before a loss window."""
    return (f"open {', '.join(spans)} ({zone.key}) only on a door state or visitors counted in from before the "
            "platform lost messages: the message ending it (a door closed, the exits) may be among the lost, so a spot "
            "check does not count those minutes")
