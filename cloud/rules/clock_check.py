"""A station's clock found behind by the cloud's time check: the day's readings cannot be placed in time.

A Pi whose clock is set behind by a constant amount (the station's own NTP server, or the time set by hand) moves
its whole day earlier, and nothing else shows it: every message arrives that long after its time, steadily, which is
also what a slow link or an ingester falling behind looks like. So the cloud's command sender asks every registered
station for its time at random moments (`cmd/time-check`, carrying when it was asked by the cloud's clock), and the
agent answers at once with a heartbeat carrying that time (`asked`) beside its own (`ts`). The answer is stamped
after the question arrived, which is after it was asked: an answer stamped more than `clock_behind_minutes` *before*
the question can only come from a clock behind, however slow the link or the ingester.

A day holding such an answer (by the answer's own time, as every message is placed) is judged on nothing: when the
clock went behind is not known, so none of the day's readings can be placed in time. It is `unknown` (its hours are
owed, never open), flagged `clock_behind`, its spot checks `unverifiable`, and its town alerted to go on site. An
honest station whose clock is not yet synchronised does not answer (with the agent's default `clock_check: ntp`, it
holds its readings until it is).
"""

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from cloud.rules.config import RulesConfig
from cloud.rules.observations import Obs
from station_protocol.kinds import ANSWER

FLAG_CLOCK_BEHIND = "clock_behind"


class Behind(NamedTuple):
    """One answer stamped before its question: the cloud asked at `asked`, the station's clock said `answered`
    (epoch seconds)."""

    asked: float
    answered: float

    @property
    def seconds(self) -> float:
        return self.asked - self.answered


def asked_at(o: Obs) -> float | None:
    """When the cloud asked the time check a heartbeat answers (its `ref`), or None for any other message."""
    if o.kind != "heartbeat" or o.state != ANSWER:
        return None
    try:
        return datetime.fromisoformat(o.ref).timestamp()
    except ValueError:  # ingest validated it; a hand-edited evidence file may not have been
        return None


def found_behind(obs: Iterable[Obs], lo: float, hi: float, config: RulesConfig) -> list[Behind]:
    """The answers stamped in [lo, hi) more than `clock_behind_minutes` before the cloud asked, in time order."""
    margin = config.clock_behind_minutes * 60
    out = []
    for o in obs:
        if lo <= o.t < hi and (asked := asked_at(o)) is not None and asked - o.t > margin:
            out.append(Behind(asked, o.t))
    return sorted(out)
