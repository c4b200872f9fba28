"""Face detection where the motion gate saw movement, and encoding of the found faces at full resolution.

dlib's HOG detector finds faces from about 80 px tall; one upsampling pass halves that to about 40 px, at four times
the cost per pixel. A door camera at 640x480 sees faces of 50-150 px, so the detector runs upsampled, but only on the
regions that moved (a person walking in is a few percent of the frame): full-frame sensitivity at a fraction of the
full-frame cost. A face already found is cheaper still to find again: its size and place are known, so it is looked
for in a small window around its last box, without the pyramid levels that only hold much smaller faces (`follow`).
The measurements behind these defaults are in docs/face.md.
"""

import math
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from edge.face import facestack
from edge.face.facestack import Box, Image, Landmarks, Vector
from edge.face.models import FaceModel


@dataclass(frozen=True, slots=True)
class View:
    """What a detector knows of a face it found beyond its box: its confidence (0-1) and its five landmarks."""

    score: float
    landmarks: Landmarks


class FaceDetector(Protocol):
    """What the pipeline needs of a face detector (dlib's HOG here, OpenCV's YuNet in `yunet.py`): boxes in dlib's
    convention (brows to chin), in full-frame pixels."""

    def detect(self, bgr: Image, regions: list[Box] | None = None) -> list[Box]: ...

    def follow(self, bgr: Image, faces: list[Box]) -> list[Box]: ...

    def view(self, box: Box) -> View | None:
        """The score and landmarks of a box of the last `detect` or `follow`, when the detector gives them."""
        ...


class Detector:
    """Finds faces in a BGR frame, searched at `scale` (1: native resolution) with `upsample` pyramid passes."""

    def __init__(self, scale: float = 1.0, upsample: int = 1) -> None:
        self.scale = scale
        self.upsample = upsample
        facestack.load()  # fail at start-up, not on the first face

    def view(self, box: Box) -> View | None:
        """dlib's HOG detector gives boxes only."""
        return None

    @property
    def smallest_px(self) -> int:
        """About the smallest face (px tall, native frame) this detector finds: dlib's 80-px window, rescaled."""
        return round(80 / self.scale / float(2**self.upsample))

    def detect(self, bgr: Image, regions: list[Box] | None = None) -> list[Box]:
        """Face boxes in full-frame pixels, searched in `regions` (full-frame boxes) or the whole frame."""
        height, width = bgr.shape[:2]
        found: list[Box] = []
        for region in regions or [(0, width, height, 0)]:
            found += _search(bgr, region, self.scale, self.upsample)
        return found

    def follow(self, bgr: Image, faces: list[Box]) -> list[Box]:
        """The faces found near `faces` (boxes found in an earlier frame), each searched for in a window around it,
        on the pyramid levels of the region search (`detect`) from the one that makes it `FOLLOW_FACE_PX` tall down:
        the same levels give the same boxes, and the finer levels, which only hold faces much smaller than the
        followed one and cost the most (the largest images), are skipped. A few ms instead of 20-60."""
        height, width = bgr.shape[:2]
        finest = self.scale * 2**self.upsample
        found: list[Box] = []
        for top, right, bottom, left in faces:
            size = max(bottom - top, right - left, 1)
            levels = max(0, math.floor(math.log(size * finest / FOLLOW_FACE_PX) / math.log(PYRAMID_STEP)))
            margin = round(FOLLOW_MARGIN * size)
            window = (
                max(0, top - margin),
                min(width, right + margin),
                min(height, bottom + margin),
                max(0, left - margin),
            )
            for box in _search(bgr, window, self.scale / PYRAMID_STEP**levels, self.upsample):
                # Two faces side by side: their windows overlap and both find both. Keep each face once.
                if not any(same_face(box, seen) for seen in found):
                    found.append(box)
        return found


# dlib's HOG detector searches an image pyramid, each level 5/6 the size of the one before.
PYRAMID_STEP = 6 / 5
# A followed face is searched for from the pyramid level that makes it at least this tall: dlib's 80-px window finds
# faces from about 65 px, so the face is still found when it shrank by a fifth since the last frame, and the coarser
# levels find it however much it grew within the window.
FOLLOW_FACE_PX = 80
# The window around a followed face, in face sizes on each side: the tracker continues a track whose face moved less
# than one face width, so the window holds every face that can continue it.
FOLLOW_MARGIN = 1.0


def _search(bgr: Image, region: Box, scale: float, upsample: int) -> list[Box]:
    """Face boxes (full-frame pixels) in one region of the frame, searched at `scale` with `upsample` passes."""
    height, width = bgr.shape[:2]
    top, right, bottom, left = region
    if bottom - top < 16 or right - left < 16:
        return []
    crop = bgr[top:bottom, left:right]
    if scale != 1:
        shrink = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=shrink)
    rgb: Image = np.ascontiguousarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
    return [
        (
            max(0, top + round(t / scale)),
            min(width, left + round(r / scale)),
            min(height, top + round(b / scale)),
            max(0, left + round(lft / scale)),
        )
        for t, r, b, lft in facestack.locate(rgb, upsample)
    ]


def same_face(a: Box, b: Box) -> bool:
    """Boxes whose centres lie within half a face of each other."""
    size = max(a[2] - a[0], b[2] - b[0], 1)
    return abs((a[0] + a[2]) - (b[0] + b[2])) < size and abs((a[1] + a[3]) - (b[1] + b[3])) < size


def encode_faces(
    bgr: Image, boxes: list[Box], face_model: FaceModel, landmarks: list[Landmarks | None] | None = None
) -> list[Vector]:
    """Encodings (of `face_model`) of `boxes` in a BGR frame, at full resolution (better encodings than the
    detection scale gives); aligned on the detector's `landmarks` of each box where given and the model aligns on
    five points (SFace), else on the model's own landmark search."""
    if not boxes:
        return []
    rgb: Image = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    if landmarks is not None and face_model.encode_on is not None:
        return face_model.encode_on(rgb, boxes, landmarks)
    return face_model.encode(rgb, boxes)
