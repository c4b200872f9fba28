"""Elders' faces corroborated by the door's people counter.

The camera has no liveness check: a printed photograph or a phone showing an enrolled elder's face is recognised like
the elder. A real elder walks through the door, and the people counter at the same door counts the crossing; a photo
held up to the camera does not add one crossing per face. So an elder is served on a day only when one of their face
observations is matched to a counter crossing (an entry or an exit: the camera may first identify someone on the way
out) near it in time, **each crossing matched to at most one elder**.

Time: a flow event counts its crossings somewhere in `(ts - period_s, ts]`; a crossing is near a face seen at `t`
when that span reaches `[t - window, t + window]` (the benefit of the doubt on where in the period it was). With a
long counting period the time check loosens to the period, but the count check does not: ten faces still need ten
crossings.

Matching: a maximum matching of elders to crossings (augmenting paths, in time order, so both runners agree), so an
honest day loses no elder to the order faces came in. Staff faces are not matched: they never count, and staff are at
the door far more often than they cross it (greeting elders, at the reception), so their faces would take the
crossings of the elders they greet. Anonymous faces are not matched either (they count only when the rules say so).

A face seen while no counter reported (no flow event reaches it: no counter, or it was off) cannot be corroborated:
`count_faces_without_counter` decides whether such an elder counts (flagged and alerted) or not.
"""

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cloud.rules.config import RulesConfig
from cloud.rules.observations import Obs


@dataclass(frozen=True, slots=True)
class Corroboration:
    """A day's enrolled elders by what the counter says of them.

    `served`: matched to a crossing, or (with `count_faces_without_counter`) seen only while no counter reported.
    `uncorroborated`: seen, not served (every observation left without a crossing). `unchecked`: not matched and
    seen at a time no counter reported (served or not, by the rule). `crossings`: the counter's entries and exits
    that could be matched."""

    served: frozenset[str]
    uncorroborated: frozenset[str]
    unchecked: frozenset[str]
    crossings: int


def _reaches(flow: Obs, t: float, window: float) -> bool:
    """Some instant of the flow's period `(ts - period_s, ts]` is within `window` seconds of `t`."""
    return flow.t >= t - window and flow.t - flow.period_s < t + window


class Crossings:
    """Flow events (sorted by time) indexed to find those reaching a moment: `near(t)` gives the indexes of the ones
    whose period comes within `window` seconds of `t`."""

    def __init__(self, flows: Sequence[Obs], window: float) -> None:
        self.flows = flows
        self.window = window
        self.times = [o.t for o in flows]
        self.longest = max((o.period_s for o in flows), default=0)

    def near(self, t: float) -> list[int]:
        out = []
        for i in range(bisect_left(self.times, t - self.window), len(self.flows)):
            if self.times[i] - self.longest >= t + self.window:
                break  # no later flow's period starts early enough to reach `t`
            if _reaches(self.flows[i], t, self.window):
                out.append(i)
        return out


def corroborate(obs: Sequence[Obs], start: float, end: float, config: RulesConfig) -> Corroboration:
    """The enrolled elders seen in `[start, end)` corroborated by the counter. `obs` sorted; flow events outside the
    day are used when they reach a face inside it (a crossing just before midnight corroborates a face just after)."""
    window = config.face_crossing_window_s
    seen: dict[str, list[float]] = {}
    flows: list[Obs] = []
    for o in obs:
        if o.kind == "flow":
            if o.t >= start - window and o.t - o.period_s < end + window:
                flows.append(o)
        elif o.kind == "face" and o.state == "elder" and o.ref and start <= o.t < end:
            seen.setdefault(o.ref, []).append(o.t)
    if not seen:
        return Corroboration(frozenset(), frozenset(), frozenset(), sum(o.entries + o.exits for o in flows))
    capacity = [o.entries + o.exits for o in flows]
    near = Crossings(flows, window).near

    # Elders in the order they were first seen (then id): deterministic, whoever derives it.
    elders = sorted(seen, key=lambda ref: (seen[ref][0], ref))
    reach: dict[str, list[int]] = {}
    unchecked: set[str] = set()
    for ref in elders:
        reaching = [near(t) for t in seen[ref]]
        reach[ref] = sorted({i for found in reaching for i in found if capacity[i] > 0})
        if any(not found for found in reaching):
            unchecked.add(ref)
    matched = _match(elders, reach, capacity)
    unchecked -= matched
    served = matched | (unchecked if config.count_faces_without_counter else set())
    return Corroboration(frozenset(served), frozenset(set(elders) - served), frozenset(unchecked), sum(capacity))


def _match(elders: list[str], reach: dict[str, list[int]], capacity: list[int]) -> set[str]:
    """A maximum matching of `elders` to the crossings of the flow events each can reach (`capacity[i]` elders at most
    on flow event `i`), by augmenting paths tried in `elders`' order, in passes: within a pass a flow event is visited
    once (a path through it either was found or cannot be, until the matching changes), and passes repeat until one
    finds no path, which proves the matching maximum. So a day with far more faces than crossings (a hostile agent
    sending thousands of elders) costs a few passes over the day, not a search of the whole day per face. Iterative,
    so no day is deep enough to overflow the stack."""
    holders: dict[int, list[str]] = {}  # the elders each flow event's crossings corroborate
    visited: set[int] = set()

    def options(ref: str) -> Iterator[tuple[int, int]]:
        """(flow event, -1) for a free crossing, else (flow event, k) for moving its k-th holder elsewhere."""
        for i in reach[ref]:
            if i in visited:
                continue
            visited.add(i)
            held = holders.setdefault(i, [])
            if len(held) < capacity[i]:
                yield i, -1
                return
            for k in range(len(held)):
                yield i, k

    def augment(root: str) -> bool:
        stack = [(root, options(root))]
        moves: list[tuple[int, int]] = []  # moves[j]: the crossing stack[j]'s elder takes from stack[j + 1]'s
        while stack:
            ref, tries = stack[-1]
            step = next(tries, None)
            if step is None:
                stack.pop()
                if moves:
                    moves.pop()
                continue
            i, k = step
            if k >= 0:
                moves.append((i, k))
                stack.append((holders[i][k], options(holders[i][k])))
                continue
            holders[i].append(ref)
            for (flow, slot), (mover, _) in zip(moves, stack, strict=False):
                holders[flow][slot] = mover
            return True
        return False

    matched: set[str] = set()
    waiting = list(elders)
    while waiting:
        visited.clear()
        found = {ref for ref in waiting if augment(ref)}
        if not found:
            break
        matched |= found
        waiting = [ref for ref in waiting if ref not in found]
    return matched
