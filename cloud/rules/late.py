"""Evidence withheld and sent after the fact: set aside, never counted.

The agent stores and forwards: an event it could not send (the network down) arrives late, and counts — it fills
time the cloud heard nothing. But while the cloud hears the station live (messages received promptly, each within
`liveness_minutes` of the last), the agent is connected and its outbox delivers every event within seconds. An event
received more than `late_delivery_minutes` after its time, for a moment inside such a stretch, was therefore held
back and published later: a shut day's door openings or counts "filled in" once the day, its spot check or its month
had been judged. Such evidence is set aside and the day flagged; what the cloud heard live stands.

Each ingester is a path of its own: with two ingesters on the shared subscription, the broker hands each a share of
every station's messages and queues the share of one that is stopped, to deliver it when it is back. The station was
heard live through the other one all along, yet that share is the cloud's delay, not the station's. So an event is
judged against what *its* ingester heard: late for a moment that ingester was hearing the station live.

Only readings (door, counter, face, call) are ever set aside. A heartbeat, a status or a health message says the agent
was alive, which a moment heard live already shows, and its time may not be the agent's to choose: the MQTT last will
(`online: false`) is stamped when the agent connected and published by the broker whenever that connection dies,
hours or days later; a Pi without a clock battery sends its first heartbeat and `online: true` after a power cut with
the time it last saved, before NTP sets the clock. Setting those aside would flag an honest station's day and alert
its town for what the broker and the clock did.
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import pairwise

from cloud.rules.config import RulesConfig
from cloud.rules.intervals import Interval, merge
from cloud.rules.observations import Obs

# Messages of life only (no count, no door, no face): never set aside, see the module's docstring.
_LIFE_ONLY = frozenset(("status", "heartbeat", "health"))


def heard_live(obs: Sequence[Obs], config: RulesConfig) -> list[Interval]:
    """Stretches between two consecutive promptly received messages (of `obs`: one ingester's) at most
    `liveness_minutes` apart: the agent was connected throughout (an `online: false` status, the broker's last will,
    is not a message from the agent)."""
    limit = config.late_delivery_minutes * 60
    return live_stretches([o.t for o in obs if o.lag <= limit and not is_last_will(o)], config)


def live_stretches(times: Iterable[float], config: RulesConfig) -> list[Interval]:
    """Stretches between two consecutive `times` (of messages from the agent) at most `liveness_minutes` apart."""
    gap = config.liveness_minutes * 60
    return merge((a, b) for a, b in pairwise(sorted(times)) if b - a <= gap)


def is_last_will(o: Obs) -> bool:
    """An `online: false` status: the broker's last will (or a clean stop), not a sign that the agent is connected."""
    return o.kind == "status" and o.state == "offline"


def withheld(obs: Sequence[Obs], config: RulesConfig) -> tuple[list[Obs], list[Obs]]:
    """`obs` without the readings received late for a moment the cloud was hearing the station live, and those
    readings. Obs with no receipt time (lag 0: `cloud derive` without `received_at`) are never late, nor are messages
    of life only (heartbeat, status, health)."""
    limit = config.late_delivery_minutes * 60
    if not any(o.lag > limit and o.kind not in _LIFE_ONLY for o in obs):
        return list(obs), []
    paths = {o.via for o in obs if o.lag > limit and o.kind not in _LIFE_ONLY}
    live = {via: heard_live([o for o in obs if o.via == via], config) for via in paths}
    starts = {via: [s for s, _ in stretches] for via, stretches in live.items()}

    def inside(t: float, via: str) -> bool:
        i = bisect_right(starts[via], t) - 1
        return i >= 0 and t < live[via][i][1]

    kept: list[Obs] = []
    late: list[Obs] = []
    for o in obs:
        (late if o.lag > limit and o.kind not in _LIFE_ONLY and inside(o.t, o.via) else kept).append(o)
    return kept, late
