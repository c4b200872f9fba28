"""Who is alerted of a home-care fraud signal. Pure.

A town reads the records of its own elders (cloud.homecare.scope), so a signal goes by the elders its visits are of,
never by the provider's town (a provider may serve several towns):

- every visit of one town's elders: one alert to that town, under the signal's own cause key;
- visits of several towns, for a caregiver's conduct at given homes (`SPLIT`: two visits at once, visits just long
  enough, a caregiver's visits sent late): one alert per town, each with that town's part of the evidence only and the
  cause key `{key}@{town}` (see `town_key`), for the towns whose part names something;
- visits of several towns for a pattern of the whole provider (late uploads spread over its caregivers, none a habit
  alone: no town's part shows it), or of an elder of no known town: one alert to the bureau, under the signal's key.

A cause key names one destination, whatever the pass: the worker moves or clears the open alerts a signal's new route
leaves behind (cloud.homecare.supervise).
"""

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cloud.homecare import fraud
from cloud.homecare.config import HomecareConfig

# The longest cause key the alerts table keeps (String(200)).
MAX_KEY = 200


@dataclass(frozen=True, slots=True)
class Route:
    """One alert of a signal: its town (None: the bureau), cause key and evidence."""

    town: str | None
    cause_key: str
    evidence: dict[str, Any]


def splits(signal: fraud.Signal) -> bool:
    """Whether a town's part of this signal is a question that town can check on its own elders."""
    if signal.kind in (fraud.DOUBLE_BOOKED, fraud.JUST_LONG_ENOUGH):
        return True
    return signal.kind == fraud.LATE_UPLOADS and signal.evidence.get("scope") == "caregiver"


def town_key(cause_key: str, town: str) -> str:
    """The cause key of one town's part: `{key}@{town}`, the town hashed when its name would not fit."""
    key = f"{cause_key}@{town}"
    if len(key) <= MAX_KEY:
        return key
    return f"{cause_key}@#{hashlib.sha256(town.encode()).hexdigest()[:16]}"


def towns_of(signal: fraud.Signal, town_of: Mapping[str, str]) -> set[str | None]:
    """The towns of the elders of the visits the signal was judged on (None for an elder of no known town)."""
    return {town_of.get(v.elder) for v in signal.visits}


def route(signal: fraud.Signal, town_of: Mapping[str, str], config: HomecareConfig) -> list[Route]:
    """Where the signal's alerts go; `town_of`: each elder's town."""
    towns = towns_of(signal, town_of)
    if len(towns) == 1 and None not in towns:
        (town,) = towns
        return [Route(town, signal.cause_key, signal.evidence)]
    if None in towns or not towns or not splits(signal):
        return [Route(None, signal.cause_key, signal.evidence)]
    routes = []
    for town in sorted(t for t in towns if t is not None):
        part = fraud.town_part(signal, [v for v in signal.visits if town_of.get(v.elder) == town], config)
        if part is not None:
            # The town's part of a signal spanning towns: the bureau sees every town's part.
            routes.append(Route(town, town_key(signal.cause_key, town), {**part, "other_towns": True}))
    return routes or [Route(None, signal.cause_key, signal.evidence)]


def base_key(key: str, bases: Collection[str]) -> str | None:
    """The signal's key among `bases` that `key` is, or is a town's part of (`{base}@{town}`); None if none."""
    if key in bases:
        return key
    at = key.find("@")
    while at != -1:
        if key[:at] in bases:
            return key[:at]
        at = key.find("@", at + 1)
    return None


def left_behind(routed: Mapping[str, Sequence[Route]], open_keys: Iterable[str]) -> dict[str, Sequence[Route]]:
    """The open alerts a signal's routes leave behind: each key of `open_keys` that is a signal's key or one of its
    towns' parts (a signal now split, or no longer split) but none of its routes, with the routes that replace it.
    `routed`: each signal's routes by the signal's cause key."""
    live = {r.cause_key for routes in routed.values() for r in routes}
    out: dict[str, Sequence[Route]] = {}
    for key in open_keys:
        base = base_key(key, routed)
        if base is not None and key not in live:
            out[key] = routed[base]
    return out
