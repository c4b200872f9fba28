"""Readings sent after the fact whose sequence numbers contradict their time: set aside, never counted.

Every device reading carries the device's `seq`, which the agent's outbox allocates in the order the readings are
made, strictly increasing and kept across restarts. An honest outbox replay after a network outage fits that order:
its readings' numbers lie between those of the device's readings heard live just before and just after them in time.
A day fabricated and published after the next day was heard live cannot fit, unless the agent left a gap in its
numbers in advance (which is fabricating live): it reuses numbers the next day already used, takes numbers above
them, or restarts low, below the day before's.

So a reading received late (more than `late_delivery_minutes` after its time, as in `cloud.rules.late`) is compared
with its device's *anchors*: the nearest reading of that device received promptly before it, and the nearest after
it. Prompt readings are live data and never questioned; they are the trusted frame a late one must fit into. A late
reading whose number is not above its earlier anchor's, or not below its later anchor's, is out of sequence. Only
anchors farther than `sequence_slack_s` from it in time count: an honest device's readings are not written in exactly
the order of their times (a camera stamps an unrecognised visitor's face with when it was last seen and writes it
when the track ends, seconds later, after faces seen meanwhile). Nor do anchors farther than `sequence_context_days`:
the worker looks that far beyond the days it loads, and a verdict must not depend on how many days were loaded with
it (an audit's export of a month against the worker's run of two days).

The nearest anchors (not every earlier or later reading) keep the rule local: a Pi reinstalled with a fresh outbox
restarts its numbers, and its late readings months later are judged against its own live readings around them, not
against the numbers of the old installation. Like `late`, only readings (door, counter, face, call) are set aside; a
health report anchors its device like any prompt reading but is never judged (it is life only).
"""

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence

from cloud.rules.config import RulesConfig
from cloud.rules.observations import Obs

# Life only, never set aside (see cloud.rules.late); health still anchors its device.
_NOT_JUDGED = frozenset(("status", "heartbeat", "health"))


def late_reading(kind: str, lag_s: float, seq: object, config: RulesConfig) -> bool:
    """Whether a message is a reading the rule judges: one with a sequence number, received late."""
    return lag_s > config.late_delivery_minutes * 60 and isinstance(seq, int) and kind not in _NOT_JUDGED


def judged(obs: Iterable[Obs], config: RulesConfig) -> set[str]:
    """The devices with a reading received late: the only ones the rule has anything to check (and the only ones
    whose anchors outside the loaded window the worker and the evidence export look up)."""
    return {o.device for o in obs if late_reading(o.kind, o.lag, o.seq, config)}


def out_of_sequence(obs: Sequence[Obs], config: RulesConfig) -> tuple[list[Obs], list[Obs]]:
    """`obs` (sorted by `sort_key`) without the late readings whose seq contradicts their time against their device's
    nearest prompt readings (beyond `sequence_slack_s`), and those readings."""
    devices = judged(obs, config)
    if not devices:
        return list(obs), []  # nothing received late (the common case): nothing to check
    limit = config.late_delivery_minutes * 60
    slack = config.sequence_slack_s
    reach = config.sequence_context_days * 86400
    # Each device's prompt readings, in time order (obs are sorted): times and numbers.
    anchor_t: dict[str, list[float]] = defaultdict(list)
    anchor_seq: dict[str, list[int]] = defaultdict(list)
    for o in obs:
        if o.device in devices and o.seq is not None and o.lag <= limit:
            anchor_t[o.device].append(o.t)
            anchor_seq[o.device].append(o.seq)

    def contradicts(o: Obs) -> bool:
        assert o.seq is not None
        times, seqs = anchor_t[o.device], anchor_seq[o.device]
        before = bisect_left(times, o.t - slack) - 1  # the last anchor stamped more than `slack` earlier
        if before >= 0 and times[before] >= o.t - reach and seqs[before] >= o.seq:
            return True
        after = bisect_right(times, o.t + slack)  # the first anchor stamped more than `slack` later
        return after < len(times) and times[after] <= o.t + reach and seqs[after] <= o.seq

    kept: list[Obs] = []
    unfit: list[Obs] = []
    for o in obs:
        (unfit if o.device in devices and late_reading(o.kind, o.lag, o.seq, config) and contradicts(o)
         else kept).append(o)
    return kept, unfit
