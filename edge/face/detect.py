"""Face detection on a downscaled frame, and encoding of the found faces at full resolution."""

import cv2
import numpy as np

from edge.face import facestack
from edge.face.facestack import Box, Image, Vector


class Detector:
    """Finds faces in a BGR frame at `scale` (0.5: a 640x480 frame is searched at 320x240, ~4x cheaper)."""

    def __init__(self, scale: float = 0.5, upsample: int = 0) -> None:
        self.scale = scale
        self.upsample = upsample
        facestack.load()  # fail at start-up, not on the first face

    def detect(self, bgr: Image) -> list[Box]:
        """Face boxes in full-frame pixels."""
        small = bgr
        if self.scale != 1:
            small = cv2.resize(bgr, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        rgb: Image = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
        boxes = facestack.locate(rgb, self.upsample)
        height, width = bgr.shape[:2]
        return [
            (
                max(0, round(top / self.scale)),
                min(width, round(right / self.scale)),
                min(height, round(bottom / self.scale)),
                max(0, round(left / self.scale)),
            )
            for top, right, bottom, left in boxes
        ]


def encode_faces(bgr: Image, boxes: list[Box]) -> list[Vector]:
    """Encodings of `boxes` in a BGR frame, at full resolution (better encodings than the detection scale gives)."""
    if not boxes:
        return []
    rgb: Image = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return facestack.encode(rgb, boxes)
