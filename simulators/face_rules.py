"""Replay many: the ways of deciding who a track is, and how each scores on recorded footage.

Per track, `decide` takes the encodings the pipeline's schedule would have taken (every 0.2 s or when 20 % bigger,
up to `attempts`) and applies a rule after each one as the pipeline does; `evaluate` scores the visits: found, given
to the wrong enrolled person, and "lookalike" wrong matches (each enrolled person in turn treated as never enrolled:
their tracks must then match nobody). Pure: no I/O, microseconds a decision.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.face.models import FaceModel
from simulators.face_recording import Array, TrackRecord, View


@dataclass(frozen=True, slots=True)
class Rule:
    """How a track is decided: aggregate its encodings, then accept the nearest enrolled person within `tolerance`,
    or within `loose` when the next-nearest other person is at least `margin` farther."""

    label: str
    tolerance: float = 0.5
    loose: float = 0.0
    margin: float = 1.0
    attempts: int = 5
    weight: Callable[[View], float] | None = None  # None: the plain mean
    top: int = 0  # >0: the mean of the `top` largest faces only
    nearest: int = 1  # a person's distance: the mean of their `nearest` closest enrolment encodings


def schedule(views: Sequence[View], attempts: int, retry_s: float = 0.2) -> list[View]:
    """The views the pipeline encodes: after `retry_s`, or sooner when 20 % bigger, up to `attempts`."""
    taken: list[View] = []
    largest, last = 0, float("-inf")
    for view in views:
        if len(taken) >= attempts:
            break
        if view.height >= 1.2 * largest or view.t - last >= retry_s - 1e-6:
            taken.append(view)
            largest, last = max(largest, view.height), view.t
    return taken


def aggregate(views: Sequence[View], rule: Rule, face_model: FaceModel) -> Array:
    chosen = sorted(views, key=lambda v: -v.height)[: rule.top] if rule.top else list(views)
    weights = np.asarray([rule.weight(v) if rule.weight else 1.0 for v in chosen])
    vectors = np.asarray([v.encoding for v in chosen])
    mean: Array = (vectors * weights[:, None]).sum(axis=0) / weights.sum()
    return mean / np.linalg.norm(mean) if face_model.unit else mean


def decide(views: Sequence[View], gallery: dict[str, Array], rule: Rule, face_model: FaceModel,
           others: list[float] | None = None) -> str | None:
    """The enrolled person the track is named as, or None (an anonymous visitor). `others` collects, at every
    decision step, the distance to the nearest enrolled person the track's face is not (the safety margin)."""
    taken = schedule(views, rule.attempts)
    who = views[0].who if views else ""
    for n in range(1, len(taken) + 1):
        probe = aggregate(taken[:n], rule, face_model)
        distances = sorted(
            (float(np.sort(np.linalg.norm(enc - probe, axis=1))[: rule.nearest].mean()), name)
            for name, enc in gallery.items()
        )
        if others is not None:
            others.append(min(d for d, name in distances if name != who))
        best, name = distances[0]
        second = distances[1][0] if len(distances) > 1 else float("inf")
        if best <= rule.tolerance or (best <= rule.loose and second - best >= rule.margin):
            return name
    return None


@dataclass
class Result:
    visits: int = 0
    found: int = 0
    wrong: int = 0
    lookalike: int = 0
    closest_other: float = float("inf")  # nearest any decision came to an enrolled person the face is not


def evaluate(footage: list[tuple[list[dict[str, Any]], list[TrackRecord]]], gallery: dict[str, Array],
             rule: Rule, face_model: FaceModel) -> Result:
    result = Result()
    for visits, tracks in footage:
        named: dict[int, list[str | None]] = defaultdict(list)
        for track in tracks:
            others: list[float] = []
            name = decide(track.views, gallery, rule, face_model, others if track.who else None)
            result.closest_other = min([result.closest_other, *others])
            named[track.visit].append(name)
            if name is not None and name != track.who:
                result.wrong += 1
            if track.who in gallery:  # the same person, never enrolled: must match nobody
                without = {k: v for k, v in gallery.items() if k != track.who}
                result.lookalike += decide(track.views, without, rule, face_model) is not None
        for i, visit in enumerate(visits):
            result.visits += 1
            names = named.get(i, [])
            if visit["who"] in gallery:
                result.found += visit["who"] in names
            else:
                result.found += bool(names) and all(n is None for n in names)
    return result


RULES: dict[str, tuple[Rule, ...]] = {}
RULES["sface"] = (
    Rule("mean of up to 5 encodings, tolerance 1.05 (the default)", tolerance=1.05),
    Rule("the same, tolerance 1.0", tolerance=1.0),
    Rule("the same, tolerance 1.1", tolerance=1.1),
    Rule("the same, tolerance 1.128 (OpenCV's reference: cosine 0.363)", tolerance=1.128),
    Rule("up to 3 encodings per track", tolerance=1.05, attempts=3),
    Rule("one encoding per track", tolerance=1.05, attempts=1),
)
RULES["dlib"] = (
    Rule("mean of up to 5 encodings, tolerance 0.5 (the default)"),
    Rule("the same, tolerance 0.55", tolerance=0.55),
    Rule("mean weighted by face height", weight=lambda v: float(v.height)),
    Rule("mean weighted by sharpness", weight=lambda v: v.sharpness),
    Rule("mean of the 3 largest faces", top=3),
    Rule("up to 8 encodings per track", attempts=8),
    Rule("a person's distance: the mean of their 2 nearest encodings, tolerance 0.52", tolerance=0.52, nearest=2),
    Rule("margin: <= 0.5, or <= 0.53 and the next person >= 0.10 farther", loose=0.53, margin=0.10),
    Rule("margin: <= 0.5, or <= 0.55 and the next person >= 0.08 farther", loose=0.55, margin=0.08),
    Rule("margin: <= 0.5, or <= 0.57 and the next person >= 0.10 farther", loose=0.57, margin=0.10),
)
