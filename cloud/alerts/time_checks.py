"""The cloud's time checks: every registered station is asked for its time (`cmd/time-check`) at random moments.

A station's clock set behind moves its whole day earlier (a late opening looks on time) and nothing in its messages
shows it (cloud.rules.clock_check). The agent answers a check at once with a heartbeat carrying the check's time; an
answer stamped before the question was asked can only come from a clock behind. The rules judge the answers; this
module only decides when to ask.

When: each station again after `every_s` times a random factor in [0.5, 1.5), so no gap between two checks of a
connected station exceeds 1.5 × `every_s`: a clock put behind for longer than that, to move one opening, is caught.
The draws come from the operating system's randomness and are never sent, so a station cannot foresee a check and
put its clock right for it. A station's first check after the sender starts comes within `every_s`, spread so that a
fleet is not asked all at once. Every registered station is asked, whatever its agent last said of itself: a
station cannot stop the checks by looking offline (an agent restarted with its clock put behind stamps its `online`
before its own `offline`, which the store then keeps as the newer). A check to an agent that is away is dropped by
the broker (the agent keeps no MQTT session): one small message. The dates are kept in memory only: a restarted
sender draws them again.
"""

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.store.models import Station
from station_protocol import TimeCheck, new_event_id

TIME_CHECK = "time-check"


class TimeChecks:
    """When each station is next asked. `rng`: injected by tests; by default the system's randomness."""

    def __init__(self, every_s: float, rng: random.Random | None = None) -> None:
        if every_s <= 0:
            raise ValueError("every_s must be positive (a sender without time checks has none)")
        self.every_s = every_s
        self.rng = rng or random.SystemRandom()
        self.next: dict[str, datetime] = {}

    def due(self, session: Session, now: datetime) -> list[str]:
        """The registered stations to ask now."""
        registered = set(session.scalars(select(Station.id)))
        for station in sorted(registered - self.next.keys()):
            self.next[station] = now + timedelta(seconds=self.every_s * self.rng.random())
        for station in self.next.keys() - registered:
            del self.next[station]  # removed from the registry
        return sorted(s for s in registered if self.next[s] <= now)

    def asked(self, station: str, now: datetime) -> None:
        """`station` was asked at `now` (the broker confirmed it): draw its next check."""
        self.next[station] = now + timedelta(seconds=self.every_s * (0.5 + self.rng.random()))


def time_check(now: datetime) -> TimeCheck:
    """A check sent at `now`, by the cloud's clock: the agent's answer echoes `ts` as `asked`."""
    return TimeCheck(v=1, check=new_event_id(), ts=now)
