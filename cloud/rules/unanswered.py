"""A station that does not answer the cloud's time checks: its day is judged on nothing, as a clock found behind.

The time check (cloud.rules.clock_check) finds a clock set behind only in the answers: an agent that answers none (an
older agent, or one edited not to answer) would escape it, and a station could put its clock behind and simply stop
answering. So the sender records every check the broker confirmed (cloud.store.time_checks), and a day is looked at
for the checks asked in it, by the cloud's clock in the station's zone, *while the station was heard live*.

Heard live is judged on receipts, not stamps: a clock behind moves every stamp, never the moment the cloud received
the message (`Obs.t + Obs.lag`). The stretches between two consecutive receipts at most `liveness_minutes` apart
are the station's agent connected (`cloud.rules.late.live_stretches`, the same notion as the late-evidence rule's,
with the broker's last will left out). A check sent outside them went to an agent that was away: the broker drops it
(the agent keeps no MQTT session), so it is not held against the station.

An answer is matched by the check's id, whenever it arrived: an honest agent's answer goes through its outbox and
may arrive late after a dropped link. A day that holds no answer at all (none matched to its checks, none stamped in
it) with at least `clock_unanswered_checks` checks unanswered while it was heard live is judged like a `clock_behind`
day: on nothing (unknown, its hours owed), flagged `clock_unanswered`, its spot checks unverifiable and its town
alerted. A station gains nothing by not answering instead of answering behind. One answer in the day is enough not
to be flagged by this rule: an agent whose clock became trusted during the day answers from then on (an honest agent
with a clock it cannot trust declines the checks, and its day cannot be placed in time either).
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cloud.rules.config import RulesConfig
from cloud.rules.intervals import Interval
from cloud.rules.late import is_last_will, live_stretches
from cloud.rules.observations import Obs

FLAG_CLOCK_UNANSWERED = "clock_unanswered"


class Ask(NamedTuple):
    """One time check the broker confirmed: its id and when the cloud asked (epoch seconds, the cloud's clock)."""

    check: str
    at: float


@dataclass(frozen=True, slots=True)
class Asked:
    """A day's time checks asked while the station was heard live, and which of them went unanswered."""

    live: int = 0  # checks asked in the day while the station was heard live
    unanswered: list[float] | None = None  # when each of those left unanswered was asked (epoch seconds)
    flagged: bool = False  # judged on nothing: no answer at all in the day, and enough unanswered

    @property
    def unanswered_n(self) -> int:
        return len(self.unanswered or ())


def heard_live_received(obs: Iterable[Obs], config: RulesConfig) -> list[Interval]:
    """Stretches in which the cloud was receiving the station's messages at most `liveness_minutes` apart, by the
    cloud's receipt (`t + lag`: a clock behind moves the stamps, never the receipts)."""
    return live_stretches([o.t + o.lag for o in obs if not is_last_will(o)], config)


def _inside(t: float, stretches: Sequence[Interval], starts: Sequence[float]) -> bool:
    i = bisect_right(starts, t) - 1
    return i >= 0 and t <= stretches[i][1]


def judge_asks(asks: Sequence[Ask], obs: Sequence[Obs], answered_in_day: int, config: RulesConfig) -> Asked:
    """The day's checks (`asks`, already those asked in the day) against the station's messages around it (`obs`: at
    least those stamped from `liveness_minutes` before the day to a little after it, which hold every answer an honest
    clock gives to the day's checks). `answered_in_day`: how many answers are stamped in the day (any answer there
    means the agent answers). Pure."""
    if not asks or config.clock_unanswered_checks == 0:
        return Asked()
    live = heard_live_received(obs, config)
    starts = [s for s, _ in live]
    heard = [a for a in asks if _inside(a.at, live, starts)]
    answers = {o.check for o in obs if o.check}
    unanswered = sorted(a.at for a in heard if a.check not in answers)
    any_answer = answered_in_day > 0 or any(a.check in answers for a in asks)
    flagged = not any_answer and len(unanswered) >= config.clock_unanswered_checks
    return Asked(len(heard), unanswered, flagged)
