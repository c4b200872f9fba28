"""Door-camera footage made from real photographs, with the ground truth of who came in when.

A camera over a station's door, at 640x480 (an RTSP sub-stream), sees people step through the doorway and walk
towards it and under it: faces grow from about 0.7x to their full size (50-150 px tall, as dlib measures a face) in
1.5-3 s, turned a little or a lot, sometimes two at a time, partly hidden by each other or (while still in the
doorway) by its frame, under changing light, blurred by their motion, with sensor noise and the blockiness of a
compressed stream. Later they walk out again with their back to the camera (motion, but no face).

Every face is a real photograph (`tests/data/faces/`), cut out with a soft mask and scaled so that its dlib face box
has the wanted height. The same seed gives the same footage and the same truth, frame for frame.

    python -m simulators.door_scene doorway.avi --seed 3 --seconds 120   # then: eldercare edge camera-test doorway.avi
"""

import argparse
import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

# The parts, each with one job; their public names stay importable from here, where callers import them.
from simulators.door_camera import expose, light_gain, noise_bank, stream
from simulators.door_people import ENROL, FACES, VISITORS, Visit, in_doorway, plan, where
from simulators.door_render import (
    CUTOUT_FACE_PX,
    Cutout,
    Image,
    background,
    cutout,
    door_frame,
    motion_blur,
    paste,
    person_layer,
)
from simulators.door_score import Score, score

__all__ = ["CUTOUT_FACE_PX", "ENROL", "FACES", "VISITORS", "Cutout", "DoorScene", "Image", "Score", "Visit",
           "background", "cutout", "main", "plan", "score"]


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
        # Every draw from the seed's generator, in this order: the order is what keeps a seed's footage the same.
        rng = np.random.default_rng(seed)
        self.visits = plan(rng, duration_s, visitors or VISITORS, face_px, apart_s)
        self._rolls = [float(rng.uniform(-10, 10)) for _ in self.visits]
        self._shirts = [tuple(float(c) for c in rng.integers(30, 200, 3)) for _ in self.visits]
        self._turn = [float(rng.uniform(0, 2 * math.pi)) for _ in self.visits]
        # The light: a slow drift (clouds, the door), and the hall lights switched off for a while.
        self._dark = sorted(float(x) for x in rng.uniform(0, duration_s, 2))
        self._background = background(size, seed)
        self._noise = noise_bank(rng, size, noise)
        width, height = size
        # The doorway's two jambs (the doorway spans 0.30-0.62 of the width, 0.05-0.62 of the height): they hide part
        # of someone stepping through near either side, and nobody who has walked past them.
        self._jambs = [(round(width * a), round(width * b)) for a, b in ((0.29, 0.315), (0.605, 0.63))]
        self._lintel = (round(height * 0.04), round(height * 0.62))
        self.whole_face_px = [0.0] * len(self.visits)  # filled in by `frames`

    @property
    def frame_count(self) -> int:
        return round(self.duration_s * self.fps)

    def gain(self, t: float) -> float:
        """The scene's brightness at `t`: lights off between the two switch times (0.55), a slow drift on top."""
        return light_gain(self._dark, t)

    def _where(self, i: int, visit: Visit, t: float) -> tuple[float, float, float, bool] | None:
        """(face cx, face cy, face px, walking out) of visit `i` at `t`, or None when out of view."""
        return where(visit, t, self.size)

    def _door_frame(self, frame: Image) -> None:
        for x0, x1 in self._jambs:
            door_frame(frame, x0, x1, *self._lintel)

    def _note_whole_faces(self, drawn: Sequence[tuple[int, tuple[int, int, int, int], Image, int, int] | None]) -> None:
        """Raise `whole_face_px` for each face of this frame that is whole: turned towards the camera (not walking
        out), its box inside the frame and no pixel of it under anything drawn after it (a nearer person, the door
        frame). `drawn`: (visit index or -1 for someone walking out, face box x0 y0 x1 y1, alpha, its left, top) in
        drawing order; None where the door frame was drawn."""
        width, height = self.size
        cover = np.zeros((height, width), bool)
        for item in reversed(drawn):
            if item is None:
                for x0, x1 in self._jambs:
                    cover[self._lintel[0] : self._lintel[1], x0:x1] = True
                continue
            i, (x0, y0, x1, y1), alpha, left, top = item
            if i >= 0 and x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height and not cover[y0:y1, x0:x1].any():
                self.whole_face_px[i] = max(self.whole_face_px[i], float(y1 - y0))
            h, w = alpha.shape
            fx0, fy0, fx1, fy1 = max(0, left), max(0, top), min(width, left + w), min(height, top + h)
            if fx1 > fx0 and fy1 > fy0:
                cover[fy0:fy1, fx0:fx1] |= alpha[fy0 - top : fy1 - top, fx0 - left : fx1 - left] > 0.5

    def frames(self) -> Iterator[Image]:
        """Every frame of the footage, as an RTSP sub-stream would deliver it (JPEG-compressed). Rendering also sets
        `whole_face_px`: per visit, the tallest its face was while whole in view (0: never)."""
        dt = 1.0 / self.fps
        self.whole_face_px = [0.0] * len(self.visits)
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
            # Depth order: the door frame is in front of whoever is still in the doorway and behind everyone who
            # has stepped through it (nearer the camera); among people, the larger face is the nearer one.
            people.sort(key=lambda p: (not in_doorway(p[2], t), p[0]))
            framed = False
            drawn: list[tuple[int, tuple[int, int, int, int], Image, int, int] | None] = []  # None: the door frame
            for _, i, visit, (x, y, px, back), (bx, by, _, _) in people:
                if not framed and not in_doorway(visit, t):
                    self._door_frame(frame)
                    framed = True
                    drawn.append(None)
                yaw = visit.yaw * (0.6 + 0.4 * math.sin(2 * t + self._turn[i]))  # the head keeps turning
                roll = self._rolls[i] * math.sin(1.3 * t + self._turn[i])
                cut = cutout(self.faces_dir / f"{visit.photo}.jpg")
                bgr, alpha, fcx, fcy = person_layer(cut, px, yaw, roll, back, self._shirts[i])
                bgr = motion_blur(bgr, x - bx, y - by)
                alpha = motion_blur(alpha, x - bx, y - by)
                paste(frame, bgr, alpha, round(x - fcx), round(y - fcy))
                half_w = px * cut.face_w / cut.face_h * (1.0 - 0.15 * yaw) / 2
                face = (round(x - half_w), round(y - px / 2), round(x + half_w), round(y + px / 2))
                drawn.append((-1 if back else i, face, alpha, round(x - fcx), round(y - fcy)))
            if not framed:
                self._door_frame(frame)
                drawn.append(None)
            self._note_whole_faces(drawn)
            bank = self._noise[(index * 7 + self.seed) % len(self._noise)]
            yield stream(expose(frame, self.gain(t), bank), self.jpeg_quality)

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
