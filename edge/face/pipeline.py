"""Processing of one frame: a plain function given its gate, detector, tracker, recogniser and visit book.

Cheap work first: the motion gate (~1 ms) decides whether to detect at all and where; detection runs on those
regions only; a track is encoded a few times at most, when its face is big enough and better than before (nearer the
camera, or after a pause); one observation per person per visit comes out. Nothing here publishes: the caller
queues the observations.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime

from edge.face import schedule
from edge.face.detect import FaceDetector, encode_faces
from edge.face.facestack import Box, Image, Landmarks
from edge.face.match import Identity, Recogniser
from edge.face.motion import MotionGate
from edge.face.track import Track, Tracker
from edge.face.visits import Visits


@dataclass(frozen=True, slots=True)
class Frame:
    """A captured frame: BGR pixels, `t` in seconds on the source's timeline, and its wall-clock time."""

    image: Image
    t: float
    ts: datetime


@dataclass(frozen=True, slots=True)
class Observation:
    """Someone seen at the start of a visit: what becomes the protocol's `face` event."""

    identity: Identity
    ts: datetime


@dataclass
class Stats:
    """Counters for health readings and for `camera-test`."""

    frames: int = 0
    gated_out: int = 0
    between_looks: int = 0  # frames with motion not searched: another was searched less than `search_every_s` ago
    faces: int = 0
    encodings: int = 0
    observations: int = 0
    errors: int = 0
    smallest_face_px: int = 0  # for installers aiming a camera: faces below `min_face_px` are not identified
    largest_face_px: int = 0
    # Faces found by height: those under 60 px are too small to identify reliably (counted, not encoded).
    faces_under_60px: int = 0
    faces_60_99px: int = 0
    faces_100_149px: int = 0
    faces_150px_up: int = 0

    def count_face(self, height: int) -> None:
        self.faces += 1
        self.smallest_face_px = min(self.smallest_face_px or height, height)
        self.largest_face_px = max(self.largest_face_px, height)
        if height < 60:
            self.faces_under_60px += 1
        elif height < 100:
            self.faces_60_99px += 1
        elif height < 150:
            self.faces_100_149px += 1
        else:
            self.faces_150px_up += 1

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Stages:
    """The stages one camera runs, built once per source."""

    gate: MotionGate
    detector: FaceDetector
    tracker: Tracker
    recogniser: Recogniser
    visits: Visits
    attempts: int = 3
    min_face_px: int = 60  # smaller faces give unreliable encodings: counted, not identified
    # A face not recognised is encoded again after this long, or sooner if it got bigger: someone walking through a
    # door is in view 1.5-3 s, and their face is large enough to identify for only part of that.
    retry_s: float = 0.2
    # While something new moves, the moving regions are searched for faces at most this often (5 a second): a person
    # in view for 1.5 s is still seen 7 times, for half the detection cost of every frame at 10 frames/s. The faces
    # found are followed in between (`Detector.follow`, in small windows around them) this often too, and on every
    # frame while one waits to be identified (each look is another view to average). A look without motion (first
    # frame, held open, periodic) is always a search of the whole frame. `schedule.py` decides.
    search_every_s: float = 0.2
    # When every moving region holds faces already followed, or held none when last searched (someone walking out
    # with their back to the camera), the regions are searched only this often: someone beside them is still found.
    discover_every_s: float = 0.6
    # Frames a face must be seen in before it is encoded: a one-frame detection in a moving region is often not a face
    # at all. A look without motion (a still image, the first frame, a periodic look at a still doorway) counts at once.
    confirm_hits: int = 2
    # A face the detector scored below this (YuNet's confidence; dlib's HOG gives none) is tracked and counted but not
    # encoded: a face half hidden by the door frame or another person is found, but its encoding names nobody.
    min_encode_score: float = 0.0
    # Align faces on the detector's own five landmarks (YuNet's) for an encoder aligned on five points (SFace),
    # instead of its own landmark search.
    detector_landmarks: bool = False
    # Encodings a track that matched nobody needs before it counts as an anonymous visitor. One view of a face half
    # behind the door frame or another person, or at the edge of the size, often lands beyond the tolerance of the
    # enrolled person it is; with more views asked for, such a track is left uncounted (an anonymous visitor seen
    # only that badly is missed: the safe error). 1 (every unmatched track counts) suits dlib's HOG, which gives a
    # passing stranger few views; YuNet gives more (docs/face.md, "Enrolled people observed as anonymous visitors").
    anonymous_views: int = 1
    stats: Stats = field(default_factory=Stats)
    searched_at: float = float("-inf")  # when the moving regions (or the whole frame) were last searched for faces
    empty_regions: list[Box] = field(default_factory=list)  # those of the last search that held no face
    followed_at: float = float("-inf")  # when the followed faces were last looked for around their last boxes


# A face this share of `min_face_px` tall is followed on every frame like one being identified: someone walking in
# grows past the size within a few frames, and a track followed closely is encoded on the first frame it can be.
NEARLY = 0.85


def month_of(ts: datetime) -> str:
    # The station's local month: unknown visitors are kept until the month ends where the station is.
    return ts.astimezone().strftime("%Y-%m")


def _visit(stages: Stages, track: Track, ts: datetime) -> Observation | None:
    assert track.identity is not None
    # On the wall clock, not the source's timeline: the visit book outlives a restart of the agent.
    if not stages.visits.seen(track.identity.person, ts.timestamp()):
        return None
    stages.stats.observations += 1
    return Observation(track.identity, ts)


def _close(stages: Stages, ended: list[Track], ts: datetime) -> list[Observation]:
    """Tracks that end unidentified (too few attempts) count as an unknown visitor when they gave
    `anonymous_views` encodings or more."""
    out = []
    for track in ended:
        if track.identity is None and len(track.encodings) >= stages.anonymous_views:
            seen_at = track.last_ts or ts
            track.identity = stages.recogniser.unknown(track.encodings, month_of(seen_at))
            observation = _visit(stages, track, seen_at)
            if observation:
                out.append(observation)
    return out


def whole_face(box: Box, shape: tuple[int, ...]) -> bool:
    """A face clear of the frame's edges: one cut by the edge (walking in) encodes badly, so wait a frame or two."""
    top, right, bottom, left = box
    margin = max(2, (bottom - top) // 10)
    return top >= margin and left >= margin and bottom <= shape[0] - margin and right <= shape[1] - margin


def _worth_encoding(stages: Stages, track: Track, frame: Frame, whole_look: bool) -> bool:
    """Encode a face not yet identified when it is whole, big enough, and better than what was tried: someone walking
    in is first seen small at the door and grows as they come nearer, so the later encodings are the good ones."""
    height = track.box[2] - track.box[0]
    return (
        track.identity is None
        and (track.hits >= stages.confirm_hits or whole_look)
        and track.attempts < stages.attempts
        and height >= stages.min_face_px
        and whole_face(track.box, frame.image.shape)
        and (height >= 1.2 * track.encoded_px or frame.t - track.encoded_at >= stages.retry_s)
        and _scored(stages, track.box) >= stages.min_encode_score
    )


def _scored(stages: Stages, box: Box) -> float:
    """The detector's confidence in a box of this frame; 1 for a detector that gives none."""
    view = stages.detector.view(box)
    return 1.0 if view is None else view.score


def _landmarks(stages: Stages, boxes: list[Box]) -> list[Landmarks | None] | None:
    """The detector's five landmarks of each box, when the stages align on them."""
    if not stages.detector_landmarks:
        return None
    views = [stages.detector.view(box) for box in boxes]
    return [view.landmarks if view else None for view in views]


def _identifying(stages: Stages) -> bool:
    """A face in view is big enough to identify (or nearly: faces grow as people come nearer) and not identified
    yet: worth every frame."""
    return any(
        track.identity is None
        and track.attempts < stages.attempts
        and track.box[2] - track.box[0] >= NEARLY * stages.min_face_px
        for track in stages.tracker.tracks
    )


def process_frame(frame: Frame, stages: Stages) -> list[Observation]:
    """Run one frame through the stages; returns the visits that started."""
    stats = stages.stats
    stats.frames += 1
    out = _close(stages, stages.tracker.expire(frame.t), frame.ts)
    if not stages.gate.moving(frame.image, frame.t):
        stats.gated_out += 1
        return out
    whole_look = stages.gate.last_forced
    regions, live = stages.gate.last_regions, stages.tracker.tracks
    if whole_look or schedule.discover(
        frame.t,
        regions,
        live,
        stages.empty_regions,
        stages.searched_at,
        stages.search_every_s,
        stages.discover_every_s,
    ):
        stages.searched_at = stages.followed_at = frame.t
        boxes = stages.detector.detect(frame.image, regions)
        stages.empty_regions = [] if whole_look else schedule.empty_regions(regions, boxes, frame.image.shape)
    else:
        followed = schedule.to_follow(frame.t, live, _identifying(stages), stages.followed_at, stages.search_every_s)
        if not followed:
            stats.between_looks += 1
            return out
        stages.followed_at = frame.t
        boxes = stages.detector.follow(frame.image, [track.box for track in followed])
    for top, _, bottom, _ in boxes:
        stats.count_face(bottom - top)
    tracks = stages.tracker.update(boxes, frame.t)
    for track in tracks:
        track.last_ts = frame.ts
    pending = [track for track in tracks if _worth_encoding(stages, track, frame, whole_look)]
    boxes = [t.box for t in pending]
    encodings = encode_faces(frame.image, boxes, stages.recogniser.model, _landmarks(stages, boxes))
    for track, encoding in zip(pending, encodings, strict=True):
        stats.encodings += 1
        track.attempts += 1
        track.encoded_px = max(track.encoded_px, track.box[2] - track.box[0])
        track.encoded_at = frame.t
        track.encodings.append(encoding)
        track.identity = stages.recogniser.known_track(track.encodings)
        if track.identity is None and track.attempts >= stages.attempts:
            track.identity = stages.recogniser.unknown(track.encodings, month_of(frame.ts))
    for track in tracks:
        if track.identity is not None:
            observation = _visit(stages, track, frame.ts)
            if observation:
                out.append(observation)
    return out


def drop_forgotten(stages: Stages, forgotten: set[str]) -> int:
    """After `forgotten` were deleted from the gallery: their open tracks are identified afresh and their visits are
    closed (from now on they are anonymous visitors), and the next frame is searched whole, moving or not. That search
    is needed even when no track of theirs is open: someone standing still in view keeps the motion gate shut, so
    their track ends `track_max_age_s` after the last look while their visit goes on, and without a look now they
    would not be seen again until the periodic one. Returns how many tracks were reset."""
    if not forgotten:
        return 0
    for person in forgotten:
        stages.visits.drop(person)
    reset = _reidentify(stages, [t for t in stages.tracker.tracks if t.identity and t.identity.person in forgotten])
    stages.gate.look_now()
    return reset


def model_changed(stages: Stages) -> int:
    """After the gallery was enrolled afresh with another face model: every open track's encodings (of the old
    model) are dropped and its face identified afresh. Returns how many tracks were reset."""
    return _reidentify(stages, [t for t in stages.tracker.tracks if t.identity is not None or t.encodings])


def _reidentify(stages: Stages, tracks: list[Track]) -> int:
    for track in tracks:
        track.identity, track.attempts, track.encodings = None, 0, []
        track.encoded_px, track.encoded_at = 0, float("-inf")
    return len(tracks)


def finish(stages: Stages, ts: datetime) -> list[Observation]:
    """The source ended: settle every open track."""
    return _close(stages, stages.tracker.end_all(), ts)
