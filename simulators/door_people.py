"""The people in the door footage: who they are, when each comes in, and where their face is at any moment.

This is the footage's ground truth: `plan` draws the visits from the scene's random generator and `where` says where
a visit's face is in the frame (pure arithmetic, no pixels), so the truth can be read without rendering a frame.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FACES = Path(__file__).resolve().parents[1] / "tests" / "data" / "faces"

# Who walks through the test footage, and the photos each is drawn from. Enrolment photos are kept apart (see
# `ENROL`): a station enrols from one photo and then sees the person in other light, years and poses.
VISITORS: dict[str, tuple[str, ...]] = {
    "obama": ("obama_2", "obama_3"),
    "guido": ("guido_van_rossum_2", "guido_van_rossum_3", "guido_van_rossum_4"),
    "allen": ("paul_allen_2", "paul_allen_4", "paul_allen_5"),
    "wozniak": ("steve_wozniak_2", "steve_wozniak_4", "steve_wozniak_5"),
    "biden": ("biden_1", "biden_2"),  # never enrolled: must stay an anonymous visitor
}
# Two photos each where the person looks different enough in them (obama_480p is obama_1 again, smaller).
ENROL: dict[str, tuple[str, ...]] = {
    "obama": ("obama_1",),
    "guido": ("guido_van_rossum_1", "guido_van_rossum_5"),
    "allen": ("paul_allen_1", "paul_allen_3"),
    "wozniak": ("steve_wozniak_1", "steve_wozniak_3"),
}


@dataclass(frozen=True, slots=True)
class Visit:
    """One person coming in: their face is in view from `enter` to `gone` (seconds); they walk out at `exit`."""

    who: str
    photo: str
    enter: float
    gone: float
    exit: float
    face_px: int  # the face's height when nearest the camera (dlib's box, in the frame's pixels)
    smallest_px: int  # its height when stepping through the door
    yaw: float  # how far the head is turned (0: facing the camera); from 0.35 on, they look away at first
    x0: float  # where in the doorway they appear and where they leave the frame (fractions of the width)
    x1: float


def plan(
    rng: np.random.Generator,
    duration_s: float,
    visitors: Mapping[str, Sequence[str]],
    face_px: tuple[int, int],
    apart_s: float,
) -> list[Visit]:
    """Who comes in when: one every few seconds, a quarter of them with someone alongside. A person comes in again
    only `apart_s` seconds after they walked out, so that every entry is a visit of its own."""
    names = sorted(visitors)
    visits: list[Visit] = []
    free = dict.fromkeys(names, 0.0)  # when each person may come in again
    t = 0.5
    while True:
        ready = [n for n in names if free[n] <= t]
        if not ready:
            t = min(free.values())
            continue
        group = 2 if rng.random() < 0.25 and len(ready) >= 2 else 1
        lanes = [float(rng.uniform(0.32, 0.6))] if group == 1 else [float(rng.uniform(0.28, 0.38)),
                                                                      float(rng.uniform(0.5, 0.6))]
        chosen = rng.choice(len(ready), size=group, replace=False)
        start = t
        for lane, index in zip(lanes, chosen, strict=True):
            who = ready[int(index)]
            enter = start + (float(rng.uniform(0, 0.6)) if group == 2 else 0.0)
            walk = float(rng.uniform(1.5, 3.0))
            peak = int(rng.integers(face_px[0] + (face_px[1] - face_px[0]) // 8, face_px[1] + 1))
            smallest = max(face_px[0], round(peak * 0.7))
            yaw = float(rng.choice([0.0, 0.2, 0.35, 0.5], p=[0.35, 0.3, 0.2, 0.15]))
            x1 = float(np.clip(lane + rng.uniform(-0.25, 0.25), 0.12, 0.88))
            exit_t = enter + walk + float(rng.uniform(8, 20))
            photo = str(rng.choice(list(visitors[who])))
            free[who] = exit_t + 2.0 + apart_s
            visits.append(Visit(who, photo, round(enter, 2), round(enter + walk, 2), round(exit_t, 2),
                                peak, smallest, yaw, lane, x1))
        t = max(v.gone for v in visits[-group:]) + float(rng.uniform(1.0, 5.0))
        if t + 3.5 > duration_s:
            break
    return [v for v in visits if v.gone <= duration_s]


# How far into a walk (a fraction of it) someone is still in the doorway, at the door frame's depth: the frame hides
# part of them only then. Past it they are nearer the camera than the door, and nothing of the door can be in front.
IN_DOORWAY = 0.1


def in_doorway(visit: Visit, t: float) -> bool:
    """Whether `visit`'s person is in the doorway at `t` (stepping in, or about to step out), so that the door frame
    is in front of them rather than behind them."""
    entering = visit.enter <= t <= visit.enter + IN_DOORWAY * (visit.gone - visit.enter)
    leaving = visit.exit + 2.0 * (1 - IN_DOORWAY) <= t <= visit.exit + 2.0
    return entering or leaving


def where(visit: Visit, t: float, size: tuple[int, int]) -> tuple[float, float, float, bool] | None:
    """(face cx, face cy, face px, walking out) of `visit` at `t` in a frame of `size`, or None when out of view."""
    width, height = size
    if visit.enter <= t <= visit.gone:
        p = (t - visit.enter) / (visit.gone - visit.enter)
        # Someone talking to their companion or looking at the notice board: no face for the first third.
        back = visit.yaw >= 0.35 and p < 0.35
    elif visit.exit <= t <= visit.exit + 2.0:
        p = max(0.0, 1.0 - (t - visit.exit) / 2.0)  # never below 0 at the last instant (float rounding)
        back = True
    else:
        return None
    # Full size at 70 % of the way, still whole in the frame; then under the camera and out of the bottom edge.
    px = visit.smallest_px + (visit.face_px - visit.smallest_px) * min(1.0, p / 0.7) ** 1.5
    x = (visit.x0 + (visit.x1 - visit.x0) * p) * width
    # Through the door (its head at 0.22 of the height) towards and under the camera: off the bottom edge.
    y = height * (0.22 + 0.95 * p ** 1.6)
    return x, y, px, back
