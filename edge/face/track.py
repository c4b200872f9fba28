"""A simple tracker: each face box continues the nearest track from the last frames, so that a person in view is
encoded once per visit (a few attempts at most), not on every frame."""

from dataclasses import dataclass, field
from datetime import datetime
from itertools import count

from edge.face.facestack import Box, Vector
from edge.face.match import Identity


@dataclass
class Track:
    """One face followed across frames."""

    id: int
    box: Box
    first_seen: float
    last_seen: float
    attempts: int = 0
    hits: int = 1  # frames it was seen in: a box seen once may be a shirt collar, not a face
    encodings: list[Vector] = field(default_factory=list, repr=False)
    identity: Identity | None = None
    last_ts: datetime | None = None  # wall-clock time of `last_seen`
    encoded_px: int = 0  # height of the largest face encoded so far
    encoded_at: float = float("-inf")  # when the last encoding was tried
    velocity: tuple[float, float] = (0.0, 0.0)  # of the face's centre, px/s, from its last two sightings


def _centre(box: Box) -> tuple[float, float, float]:
    top, right, bottom, left = box
    return (left + right) / 2, (top + bottom) / 2, max(right - left, bottom - top, 1)


def _step(a: Box, b: Box) -> float:
    """How far b's centre is from a's, in face widths."""
    ax, ay, size = _centre(a)
    bx, by, _ = _centre(b)
    return float(((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 / size)


def _distance(track: Track, box: Box, t: float, predict: bool) -> float:
    """How far `box` is from where the track's face was last seen, or (when `predict`) from where it would be now
    at its last speed, whichever is nearer, in face widths. Someone walking under the camera moves their face up to
    three or four face widths a second: a face looked for again only after a few tenths of a second (the search
    schedule's gaps) is more than a face width from its last box, and would otherwise start a second track of the
    same person."""
    step = _step(track.box, box)
    if not predict or track.velocity == (0.0, 0.0):
        return step
    dt = t - track.last_seen
    top, right, bottom, left = track.box
    dx, dy = round(track.velocity[0] * dt), round(track.velocity[1] * dt)
    return min(step, _step((top + dy, right + dx, bottom + dy, left + dx), box))


class Tracker:
    """Greedy nearest-centre association; a track unseen for `max_age_s` ends."""

    def __init__(self, max_age_s: float = 2.0, max_step: float = 1.0, predict: bool = True) -> None:
        self.max_age_s = max_age_s
        self.max_step = max_step
        self.predict = predict
        self.tracks: list[Track] = []
        self._ids = count(1)

    def update(self, boxes: list[Box], t: float) -> list[Track]:
        """Attach each box to a live track or start one; returns the tracks seen in this frame, in box order."""
        pairs = sorted(
            (_distance(track, box, t, self.predict), ti, bi)
            for ti, track in enumerate(self.tracks)
            for bi, box in enumerate(boxes)
        )
        taken_tracks: set[int] = set()
        seen: dict[int, Track] = {}
        for step, ti, bi in pairs:
            if step > self.max_step or ti in taken_tracks or bi in seen:
                continue
            track = self.tracks[ti]
            if t > track.last_seen:
                (ax, ay, _), (bx, by, _) = _centre(track.box), _centre(boxes[bi])
                track.velocity = ((bx - ax) / (t - track.last_seen), (by - ay) / (t - track.last_seen))
            track.box, track.last_seen = boxes[bi], t
            track.hits += 1
            taken_tracks.add(ti)
            seen[bi] = track
        for bi, box in enumerate(boxes):
            if bi not in seen:
                track = Track(id=next(self._ids), box=box, first_seen=t, last_seen=t)
                self.tracks.append(track)
                seen[bi] = track
        return [seen[bi] for bi in range(len(boxes))]

    def expire(self, t: float) -> list[Track]:
        """End and return the tracks not seen for longer than `max_age_s`."""
        ended = [track for track in self.tracks if t - track.last_seen > self.max_age_s]
        self.tracks = [track for track in self.tracks if t - track.last_seen <= self.max_age_s]
        return ended

    def end_all(self) -> list[Track]:
        """End every track (the source has ended)."""
        ended, self.tracks = self.tracks, []
        return ended
