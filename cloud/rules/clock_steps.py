"""A station's clock stepped within one boot: the day's readings cannot be placed in time.

The cloud's time check (cloud.rules.clock_check) only reaches a connected station. One that cuts its network for the
opening, puts its clock back (its own NTP server, or `date -s`), opens late, and sets the clock right before it
reconnects sends that morning later as an ordinary backlog, every message stamped as its wrong clock said. What
still shows it is the heartbeats the agent kept meanwhile: each carries the kernel's boot id and the seconds since
that boot (`boot`, `boot_s`, CLOCK_BOOTTIME) read with its time (`ts`). Within one boot `ts - boot_s` stays put: NTP
slews the wall clock and the boot clock alike, and only a step of the wall clock moves one and not the other. So
two heartbeats of one boot, next to each other in boot time, whose `ts - boot_s` differ by more than
`clock_step_minutes` show the clock stepped between them, by that much, whatever order they arrived in.

Only heartbeats stamped by a trusted clock are compared: an agent marks those of a clock not yet synchronised
`clock: unsynced` (an honest Pi's first NTP sync after boot steps its clock from the last shutdown's time), and
older agents send no boot. A reboot starts a new boot id (nothing to compare across it), an agent restart keeps it.

A day holding a step (either heartbeat of the pair stamped in it, in the station's zone) is judged like a day whose
clock was found behind: when and how the clock ran wrong cannot be told from its readings, so they count nowhere.
The day is `unknown`, flagged `clock_stepped`, its spot checks `unverifiable`, its town alerted to go on site. The
heartbeats compared for a day are those stamped in it and the station's nearest before and after it within
`clock_step_context_days` (a step across midnight flags both days).
"""

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from itertools import groupby, pairwise
from typing import NamedTuple

from cloud.rules.config import RulesConfig
from cloud.rules.observations import Obs

FLAG_CLOCK_STEPPED = "clock_stepped"


class Step(NamedTuple):
    """The wall clock stepped between two heartbeats of one boot, next to each other in boot time: the earlier
    stamped `before` at `before_boot_s` seconds since boot, the later `after` at `after_boot_s` (epoch seconds)."""

    before: float
    before_boot_s: float
    after: float
    after_boot_s: float

    @property
    def seconds(self) -> float:
        """How far the clock was moved: negative when set back."""
        return (self.after - self.after_boot_s) - (self.before - self.before_boot_s)


def trusted_beats(obs: Iterable[Obs]) -> list[Obs]:
    """The heartbeats of `obs` that carry a boot and were stamped by a trusted clock, in `obs`'s order."""
    return [o for o in obs if o.boot]


def beats_of_day(beats: Sequence[Obs], times: Sequence[float], lo: float, hi: float,
                 config: RulesConfig) -> list[Obs]:
    """Of `beats` (trusted, sorted by time; `times` their times): those stamped in [lo, hi) and the nearest before
    and at or after it within `clock_step_context_days`. Chosen by these bounds alone, so any superset of what the
    worker loads gives the same ones."""
    reach = config.clock_step_context_days * 86400
    first, end = bisect_left(times, lo), bisect_left(times, hi)
    out = list(beats[first:end])
    if first > 0 and times[first - 1] >= lo - reach:
        out.insert(0, beats[first - 1])
    if end < len(beats) and times[end] < hi + reach:
        out.append(beats[end])
    return out


def found_steps(beats: Iterable[Obs], lo: float, hi: float, config: RulesConfig) -> list[Step]:
    """The steps between consecutive (by boot time) trusted heartbeats of one boot among `beats` larger than
    `clock_step_minutes`, with either heartbeat stamped in [lo, hi), in time order."""
    margin = config.clock_step_minutes * 60
    # One heartbeat per (boot, boot time): the same one sent again from the outbox, or re-published, is one.
    ordered = sorted({(o.boot, o.boot_s, o.t) for o in beats if o.boot})
    out = []
    for _, group in groupby(ordered, key=lambda b: b[0]):
        for (_, s0, t0), (_, s1, t1) in pairwise(group):
            step = Step(t0, s0, t1, s1)
            if abs(step.seconds) > margin and (lo <= t0 < hi or lo <= t1 < hi):
                out.append(step)
    return sorted(out, key=lambda s: (min(s.before, s.after), s.before_boot_s))


def describe(step: Step) -> str:
    """The step in words for a day's note: its size, its direction and when, by the time since boot."""
    direction = "back" if step.seconds < 0 else "forward"
    return (f"set {direction} by {abs(step.seconds) / 60:.0f} min between {_hours(step.before_boot_s)} and "
            f"{_hours(step.after_boot_s)} after the Pi booted")


def _hours(seconds: float) -> str:
    whole = int(seconds // 60)
    return f"{whole // 60}h{whole % 60:02d}m"
