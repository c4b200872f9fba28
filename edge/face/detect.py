"""Face detection where the motion gate saw movement, and encoding of the found faces at full resolution.

dlib's HOG detector finds faces from about 80 px tall; one upsampling pass halves that to about 40 px, at four times
the cost per pixel. A door camera at 640x480 sees faces of 50-150 px, so the detector runs upsampled, but only on the
regions that moved (a person walking in is a few percent of the frame): full-frame sensitivity at a fraction of the
full-frame cost. The measurements behind these defaults are in docs/face.md.
"""

import cv2
import numpy as np

from edge.face import facestack
from edge.face.facestack import Box, Image, Vector


class Detector:
    """Finds faces in a BGR frame, searched at `scale` (1: native resolution) with `upsample` pyramid passes."""

    def __init__(self, scale: float = 1.0, upsample: int = 1) -> None:
        self.scale = scale
        self.upsample = upsample
        facestack.load()  # fail at start-up, not on the first face

    @property
    def smallest_px(self) -> int:
        """About the smallest face (px tall, native frame) this detector finds: dlib's 80-px window, rescaled."""
        return round(80 / self.scale / float(2**self.upsample))

    def detect(self, bgr: Image, regions: list[Box] | None = None) -> list[Box]:
        """Face boxes in full-frame pixels, searched in `regions` (full-frame boxes) or the whole frame."""
        height, width = bgr.shape[:2]
        found: list[Box] = []
        for top, right, bottom, left in regions or [(0, width, height, 0)]:
            if bottom - top < 16 or right - left < 16:
                continue
            crop = bgr[top:bottom, left:right]
            if self.scale != 1:
                crop = cv2.resize(crop, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
            rgb: Image = np.ascontiguousarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
            for t, r, b, lft in facestack.locate(rgb, self.upsample):
                found.append(
                    (
                        max(0, top + round(t / self.scale)),
                        min(width, left + round(r / self.scale)),
                        min(height, top + round(b / self.scale)),
                        max(0, left + round(lft / self.scale)),
                    )
                )
        return found


def encode_faces(bgr: Image, boxes: list[Box]) -> list[Vector]:
    """Encodings of `boxes` in a BGR frame, at full resolution (better encodings than the detection scale gives)."""
    if not boxes:
        return []
    rgb: Image = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return facestack.encode(rgb, boxes)
