"""Which raw counter readings to trust, what to count from them, and what to tell the cloud about them.

A people counter keeps two cumulative 32-bit counts (in, out); the driver reports what they gained. A gain is only as
good as the baseline it is measured from, and one bad reading must not move it: were a misread 900000 between 5000
and 5010 adopted as the baseline, 5010 would then look like a restart from zero and count all 5010 people the counter
ever saw. So, over both counters at once (a power cut restarts both):

- A reading in line with the last trusted one (each counter rose plausibly, or wrapped past 2**32) is counted and
  becomes the baseline.
- A reading out of line (a counter rose implausibly, `jump`, or fell, `drop`) counts nobody and is held; the baseline
  stays. The next reading decides:
  - in line with the baseline: the held reading was a misread and is forgotten; the gain since the baseline is
    counted. (The limit grows with the time since the baseline, so a crowd above the per-minute rate that the held
    reading doubted is still counted when the next reading shows it spread over two intervals.)
  - in line with the held reading: the counter really is there. If the held values are a restart from zero (a counter
    fell, and both values are counts small enough to have been made since the baseline was read), it was a power cut:
    what each counter shows is counted (`reset`), one reading late. Otherwise (a counter swapped for one with another
    total, a wrong word order, an implausible crowd) the held reading becomes the baseline and the step to it is not
    counted (`rebase`).
  - neither: it is held instead of the earlier one.

Doubt costs entries, never adds them. A step that is never confirmed as plausible is not counted: a restart whose
counts already exceed the plausible limit, a counter swapped mid-interval, more people in an interval than the limit
allows. Those people are lost, and what a counter counted between the last reading and a power cut is lost as it
always was. Counting them instead would mean guessing, and a guess that inflates a station's figures is the error a
bureau must not pay for.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from edge.drivers.modbus_counts import WRAP, Step, counter_step
from firmware_config.devices.counter import plausible_gain
from station_protocol import CounterChange

IN_LINE = ("ok", "wrap")


class Limits(NamedTuple):
    """How many people a counter may plausibly gain: `max_per_min` a minute, never more than `max_step` at once."""

    max_per_min: float
    max_step: int


def plausible(limits: Limits, seconds: float) -> int:
    """The most people a counter can plausibly gain in `seconds` (counted as at least a minute)."""
    return plausible_gain(limits.max_per_min, limits.max_step, seconds)


@dataclass(frozen=True, slots=True)
class Raw:
    """Both raw cumulative counters as read at `at` (seconds since the epoch)."""

    in_: int
    out: int
    at: float


@dataclass(frozen=True, slots=True)
class Track:
    """What the driver keeps between readings: the trusted baseline, a doubted reading held, the last reading's time."""

    base: Raw
    held: Raw | None
    last_at: float


@dataclass(frozen=True, slots=True)
class Counted:
    """People entering and leaving since the previous reading, and how the counters moved when not plainly forward."""

    in_: int
    out: int
    change: CounterChange | None


def _steps(before: Raw, after: Raw, limits: Limits) -> tuple[Step, Step]:
    limit = plausible(limits, after.at - before.at)
    return counter_step(before.in_, after.in_, limit), counter_step(before.out, after.out, limit)


def _in_line(steps: tuple[Step, Step]) -> bool:
    return all(step.change in IN_LINE for step in steps)


def _is_restart(base: Raw, held: Raw, limits: Limits) -> bool:
    """Whether `held` reads as both counters restarted from zero since `base` (a power cut)."""
    limit = plausible(limits, held.at - base.at)
    fell = held.in_ < base.in_ or held.out < base.out
    return fell and held.in_ <= limit and held.out <= limit


def advance(track: Track | None, now: Raw, limits: Limits) -> tuple[Track, Counted | None]:
    """The track after reading `now`, and what to report for it (None for the very first reading: a baseline)."""
    if track is None:
        return Track(now, None, now.at), None
    fresh = Track(now, None, now.at)
    from_base = _steps(track.base, now, limits)
    if _in_line(from_base):
        wrapped = any(step.change == "wrap" for step in from_base)
        return fresh, Counted(from_base[0].delta, from_base[1].delta, "wrap" if wrapped else None)
    held = track.held
    if held is not None:
        from_held = _steps(held, now, limits)
        if _in_line(from_held):
            if _is_restart(track.base, held, limits):
                return fresh, Counted(held.in_ + from_held[0].delta, held.out + from_held[1].delta, "reset")
            return fresh, Counted(from_held[0].delta, from_held[1].delta, "rebase")
    fell = any(step.change in ("reset", "drop") for step in from_base)
    return Track(track.base, now, now.at), Counted(0, 0, "drop" if fell else "jump")


def to_state(track: Track) -> dict[str, Any]:
    """The track as stored with each event (JSON), so that a restarted agent resumes from it."""
    state: dict[str, Any] = {"in": track.base.in_, "out": track.base.out, "ts": track.base.at, "last_ts": track.last_at}
    if track.held is not None:
        state["held"] = {"in": track.held.in_, "out": track.held.out, "ts": track.held.at}
    return state


def _raw(data: object) -> Raw | None:
    if not isinstance(data, Mapping):
        return None
    values = data.get("in"), data.get("out")
    at = data.get("ts")
    if not all(type(v) is int and 0 <= v < WRAP for v in values):
        return None
    if not isinstance(at, int | float) or isinstance(at, bool) or not math.isfinite(at):
        return None
    return Raw(int(data["in"]), int(data["out"]), float(at))


def from_state(state: Mapping[str, Any] | None) -> Track | None:
    """The track stored with the last event, or None (the next reading is then a new baseline) if there is none or it
    does not read. A state stored before readings were held (`in`, `out`, `ts` only) reads as nothing held."""
    if not state:
        return None
    base = _raw(state)
    if base is None:
        return None
    held = _raw(state.get("held")) if state.get("held") is not None else None
    last = state.get("last_ts", base.at)
    last_at = float(last) if isinstance(last, int | float) and not isinstance(last, bool) and math.isfinite(last) \
        else base.at
    return Track(base, held, last_at)
