"""Door-camera footage made from real photographs, with the ground truth of who came in when.

A camera over a station's door, at 640x480 (an RTSP sub-stream), sees people step through the doorway and walk
towards it and under it: faces grow from about 0.7x to their full size (50-150 px tall, as dlib measures a face) in
1.5-3 s, turned a little or a lot, sometimes two at a time, partly hidden by the door frame or by each other, under
changing light, blurred by their motion, with sensor noise and the blockiness of a compressed stream. Later they walk
out again with their back to the camera (motion, but no face).

Every face is a real photograph (`tests/data/faces/`), cut out with a soft mask and scaled so that its dlib face box
has the wanted height. The same seed gives the same footage and the same truth, frame for frame.

    python -m simulators.door_scene doorway.avi --seed 3 --seconds 120   # then: eldercare edge camera-test doorway.avi
"""

import argparse
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[Any]
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
CUTOUT_FACE_PX = 220  # cut-outs are kept at this face height and scaled down per frame


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


@dataclass(frozen=True, slots=True)
class Cutout:
    """A head and shoulders from a photo: BGR pixels, a soft mask, and where the face box sits in it."""

    bgr: Image  # float32
    alpha: Image  # float32, 0..1
    face_h: float
    face_w: float
    face_cx: float
    face_cy: float


@cache
def cutout(photo: Path) -> Cutout:
    """The largest face of `photo` with head and shoulders, at `CUTOUT_FACE_PX` face height."""
    from edge.face import facestack  # dlib only when footage is made

    bgr = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{photo}: not a readable image")
    scale = min(1.0, 800 / max(bgr.shape[:2]))
    small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else bgr
    boxes = facestack.locate(np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)), upsample=1)
    if not boxes:
        raise ValueError(f"{photo}: no face")
    top, right, bottom, left = (v / scale for v in max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3])))
    h, w = bottom - top, right - left
    cx, cy = (left + right) / 2, (top + bottom) / 2
    # Head and shoulders around the box (dlib's box runs from the brows to the chin).
    x0, x1, y0, y1 = cx - 1.6 * w, cx + 1.6 * w, top - 0.9 * h, bottom + 1.4 * h
    k = CUTOUT_FACE_PX / h
    matrix = np.array([[k, 0, -x0 * k], [0, k, -y0 * k]], dtype=np.float32)
    size = (round((x1 - x0) * k), round((y1 - y0) * k))
    crop = cv2.warpAffine(bgr, matrix, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    fh, fw, fcx, fcy = h * k, w * k, (cx - x0) * k, (cy - y0) * k
    mask = np.zeros(crop.shape[:2], np.float32)
    cv2.ellipse(mask, (round(fcx), round(fcy - 0.12 * fh)), (round(0.8 * fw), round(1.08 * fh)), 0, 0, 360, 1.0, -1)
    cv2.ellipse(mask, (round(fcx), round(fcy + 0.75 * fh)), (round(0.42 * fw), round(0.6 * fh)), 0, 0, 360, 1.0, -1)
    cv2.ellipse(mask, (round(fcx), round(fcy + 2.05 * fh)), (round(1.55 * fw), round(0.75 * fh)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.06 * fh)
    return Cutout(crop.astype(np.float32), mask, fh, fw, fcx, fcy)


def background(size: tuple[int, int], seed: int) -> Image:
    """A station's entrance seen from above the door: floor, a far wall with the doorway, a notice board."""
    width, height = size
    rng = np.random.default_rng(seed)
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    wall = np.where(ys < 0.55, 150 + 30 * ys, 110 - 20 * (ys - 0.55)).astype(np.float32)
    grey = np.repeat(wall, width, axis=1)
    grey = grey + np.asarray(cv2.GaussianBlur(rng.normal(0, 10, (height, width)).astype(np.float32), (0, 0), 2.5))
    scene = cv2.merge([grey * 0.92, grey, grey * 1.04])
    door = (round(width * 0.3), round(height * 0.05), round(width * 0.62), round(height * 0.62))
    cv2.rectangle(scene, door[:2], door[2:], (70, 85, 95), -1)  # the open doorway, darker
    cv2.rectangle(scene, door[:2], door[2:], (40, 50, 60), 6)
    cv2.rectangle(scene, (round(width * 0.72), round(height * 0.12)), (round(width * 0.92), round(height * 0.4)),
                  (60, 120, 170), -1)  # a notice board
    for i in range(6):
        y = round(height * (0.15 + i * 0.04))
        cv2.line(scene, (round(width * 0.74), y), (round(width * 0.9), y), (230, 230, 230), 2)
    return np.clip(scene, 0, 255).astype(np.float32)


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


def _motion_blur(layer: Image, dx: float, dy: float) -> Image:
    """Blur along the motion: what a camera's exposure does to someone walking (a box blur as long as the distance
    moved in x and in y: separable, so cheap, and close to a blur along the line for the mostly vertical walk)."""
    kx, ky = max(1, round(abs(dx))), max(1, round(abs(dy)))
    if kx == 1 and ky == 1:
        return layer
    blurred: Image = cv2.blur(layer, (kx, ky))
    return blurred


def _person_layer(cut: Cutout, face_px: float, yaw: float, roll: float, back: bool, shirt: tuple[float, ...]
                  ) -> tuple[Image, Image, float, float]:
    """A person's head, shoulders and torso scaled so the face box is `face_px` tall: (bgr, alpha, face cx, cy)."""
    k = face_px / cut.face_h
    squeeze = 1.0 - 0.15 * yaw  # a slightly turned head shows a narrower face
    width, height = max(8, round(cut.bgr.shape[1] * k)), max(8, round(cut.bgr.shape[0] * k))
    head = cv2.resize(cut.bgr, (max(4, round(width * squeeze)), height), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(cut.alpha, (head.shape[1], height), interpolation=cv2.INTER_AREA)
    pad = (width - head.shape[1]) // 2
    head = cv2.copyMakeBorder(head, 0, 0, pad, width - head.shape[1] - pad, cv2.BORDER_REPLICATE)
    alpha = cv2.copyMakeBorder(alpha, 0, 0, pad, width - alpha.shape[1] - pad, cv2.BORDER_CONSTANT, value=0)
    fcx, fcy = cut.face_cx * k, cut.face_cy * k
    # A torso under the photo's shoulders, in the person's clothes.
    extra = round(2.2 * face_px)
    head = np.concatenate([head, np.repeat(head[-1:], extra, axis=0)], axis=0)
    alpha = np.concatenate([alpha, np.zeros((extra, width), np.float32)], axis=0)
    shape: Image = np.zeros(alpha.shape, np.float32)
    cv2.ellipse(shape, (round(fcx), round(fcy + 3.3 * face_px)), (round(1.6 * face_px), round(1.7 * face_px)),
                0, 0, 360, 1.0, -1)
    torso: Image = cv2.GaussianBlur(shape, (0, 0), max(0.5, 0.05 * face_px))
    if back:
        # Walking out, back to the camera: hair where the head was, no face.
        head = np.full_like(head, 60.0 if shirt[0] > 90 else 200.0)
    a = alpha[..., None]
    bgr = head * a + np.asarray(shirt, np.float32) * (1 - a)
    alpha = np.maximum(alpha, torso)
    if abs(roll) > 0.5:
        rotation = cv2.getRotationMatrix2D((fcx, fcy), roll, 1.0)
        bgr = cv2.warpAffine(np.asarray(bgr, dtype=np.float32), rotation, (width, bgr.shape[0]),
                             borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.warpAffine(alpha, rotation, (width, alpha.shape[0]))
    return bgr, alpha, fcx, fcy


def _paste(frame: Image, bgr: Image, alpha: Image, x: int, y: int) -> None:
    h, w = alpha.shape
    fx0, fy0 = max(0, x), max(0, y)
    fx1, fy1 = min(frame.shape[1], x + w), min(frame.shape[0], y + h)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    a = alpha[fy0 - y : fy1 - y, fx0 - x : fx1 - x, None]
    frame[fy0:fy1, fx0:fx1] = frame[fy0:fy1, fx0:fx1] * (1 - a) + bgr[fy0 - y : fy1 - y, fx0 - x : fx1 - x] * a


class DoorScene:
    """The footage and its truth. `frames()` renders it (deterministically) as BGR uint8 frames."""

    def __init__(
        self,
        seed: int = 1,
        duration_s: float = 120.0,
        *,
        fps: float = 10.0,
        size: tuple[int, int] = (640, 480),
        face_px: tuple[int, int] = (50, 150),
        jpeg_quality: int = 50,
        noise: float = 3.0,
        visitors: Mapping[str, Sequence[str]] | None = None,
        faces_dir: Path = FACES,
        apart_s: float = 6.0,
    ) -> None:
        self.seed, self.duration_s, self.fps, self.size = seed, duration_s, fps, size
        self.jpeg_quality, self.noise, self.faces_dir = jpeg_quality, noise, faces_dir
        rng = np.random.default_rng(seed)
        self.visits = plan(rng, duration_s, visitors or VISITORS, face_px, apart_s)
        self._rolls = [float(rng.uniform(-10, 10)) for _ in self.visits]
        self._shirts = [tuple(float(c) for c in rng.integers(30, 200, 3)) for _ in self.visits]
        self._turn = [float(rng.uniform(0, 2 * math.pi)) for _ in self.visits]
        # The light: a slow drift (clouds, the door), and the hall lights switched off for a while.
        self._dark = sorted(float(x) for x in rng.uniform(0, duration_s, 2))
        self._background = background(size, seed)
        # Sensor noise from a bank of noise frames, picked per frame: realistic enough and cheap to render.
        width, height = size
        self._noise = [rng.normal(0, noise, (height, width, 1)).astype(np.float32) for _ in range(12)]
        width, height = size
        self._pillar = (round(width * 0.64), round(width * 0.68))  # the door frame: hides part of whoever passes

    @property
    def frame_count(self) -> int:
        return round(self.duration_s * self.fps)

    def gain(self, t: float) -> float:
        """The scene's brightness at `t`: lights off between the two switch times (0.55), a slow drift on top."""
        lights = 0.55 if self._dark[0] <= t <= self._dark[1] else 1.0
        return lights * (1.0 + 0.15 * math.sin(2 * math.pi * t / 37.0))

    def _where(self, i: int, visit: Visit, t: float) -> tuple[float, float, float, bool] | None:
        """(face cx, face cy, face px, walking out) of visit `i` at `t`, or None when out of view."""
        width, height = self.size
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

    def frames(self) -> Iterator[Image]:
        """Every frame of the footage, as an RTSP sub-stream would deliver it (JPEG-compressed)."""
        dt = 1.0 / self.fps
        for index in range(self.frame_count):
            t = index * dt
            frame = self._background.copy()
            people = []
            for i, visit in enumerate(self.visits):
                now = self._where(i, visit, t)
                if now is None:
                    continue
                # An exposure of about a third of a frame interval at 10 fps (1/30 s, indoor light).
                before = self._where(i, visit, t - dt / 3) or now
                people.append((now[2], i, visit, now, before))
            for _, i, visit, (x, y, px, back), (bx, by, _, _) in sorted(people, key=lambda p: p[0]):
                yaw = visit.yaw * (0.6 + 0.4 * math.sin(2 * t + self._turn[i]))  # the head keeps turning
                roll = self._rolls[i] * math.sin(1.3 * t + self._turn[i])
                cut = cutout(self.faces_dir / f"{visit.photo}.jpg")
                bgr, alpha, fcx, fcy = _person_layer(cut, px, yaw, roll, back, self._shirts[i])
                bgr = _motion_blur(bgr, x - bx, y - by)
                alpha = _motion_blur(alpha, x - bx, y - by)
                _paste(frame, bgr, alpha, round(x - fcx), round(y - fcy))
            x0, x1 = self._pillar
            frame[:, x0:x1] = np.array([35, 45, 55], dtype=np.float32)  # the door frame, in front of everyone
            gain = self.gain(t)
            bank = self._noise[(index * 7 + self.seed) % len(self._noise)]
            frame *= gain
            frame += bank * (1 / math.sqrt(gain))  # a darker scene is amplified more, noise with it
            out = np.clip(frame, 0, 255).astype(np.uint8)
            ok, jpeg = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
            assert ok and decoded is not None
            yield decoded

    def write(self, path: Path) -> int:
        """The footage as a video file OpenCV reads back (MJPG in AVI, at the stream's quality); the frame count."""
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), self.fps, self.size)
        if not writer.isOpened():
            raise OSError(f"cannot write video {path}")
        writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
        count = 0
        try:
            for frame in self.frames():
                writer.write(frame)
                count += 1
        finally:
            writer.release()
        return count


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path, help="the .avi file to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--fps", type=float, default=10)
    args = parser.parse_args(argv)
    scene = DoorScene(args.seed, args.seconds, fps=args.fps)
    count = scene.write(args.video)
    print(f"{args.video}: {count} frames, {len(scene.visits)} visits")
    for v in scene.visits:
        print(f"  {v.enter:7.2f}-{v.gone:7.2f} s  {v.who:8s} {v.photo:22s} face {v.smallest_px}-{v.face_px} px")


if __name__ == "__main__":
    main()


@dataclass(frozen=True, slots=True)
class Score:
    """How observations compare with the truth. `ids` maps a visitor's name to their enrolled id (others: anon)."""

    visits: int
    found: int  # visits with an observation of the right person (an enrolled id, or an anonymous one for others)
    wrong: list[str]  # observations that name an enrolled person for someone else: the failure that matters most
    repeated: list[str]  # second observations of the same person on one visit
    stray: list[str]  # observations that belong to no visit, or an anonymous id for an enrolled person
    missed: list[Visit]

    @property
    def found_share(self) -> float:
        return self.found / self.visits if self.visits else 1.0


def score(visits: Sequence[Visit], observations: Sequence[tuple[str, float]], ids: Mapping[str, str],
          slack_s: float = 2.5) -> Score:
    """Match (person, seconds) observations to the visits whose face was in view then (plus `slack_s`, the time a
    tracker may take to give up on a face). A person's observation counts for their own visit; an anonymous one for
    a visit of someone not enrolled."""
    names = {person: name for name, person in ids.items()}
    found: dict[int, str] = {}
    wrong: list[str] = []
    repeated: list[str] = []
    stray: list[str] = []
    for person, t in observations:
        live = [i for i, v in enumerate(visits) if v.enter - 0.5 <= t <= v.gone + slack_s]
        name = names.get(person)
        if name is not None:
            mine = [i for i in live if visits[i].who == name]
            if not mine:
                others = ", ".join(visits[i].who for i in live) or "nobody"
                (wrong if live else stray).append(f"{person} at {t:.1f} s (in view: {others})")
                continue
        else:
            mine = [i for i in live if visits[i].who not in ids]
            if not mine:
                stray.append(f"{person} at {t:.1f} s (in view: {', '.join(visits[i].who for i in live) or 'nobody'})")
                continue
        fresh = [i for i in mine if i not in found]
        if fresh:
            found[fresh[0]] = person
        else:
            repeated.append(f"{person} at {t:.1f} s")
    missed = [v for i, v in enumerate(visits) if i not in found]
    return Score(len(visits), len(found), wrong, repeated, stray, missed)
