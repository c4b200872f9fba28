"""The cheap gate in front of face detection: frame differencing at low resolution (~1 ms a frame).

It also lets a frame through every `look_every_s` seconds whatever happens, so a person sitting still in view is
still seen (and stays on their visit), and can be held open (`open_until`), e.g. after a people counter's entry.
"""

import cv2
import numpy as np

from edge.face.facestack import Image


class MotionGate:
    """Says whether a frame is worth looking for faces in."""

    def __init__(
        self, width: int = 160, pixel_delta: int = 25, threshold: float = 0.002, look_every_s: float = 60.0
    ) -> None:
        self.width = width
        self.pixel_delta = pixel_delta
        self.threshold = threshold
        self.look_every_s = look_every_s
        self._previous: Image | None = None
        self._open_until = float("-inf")
        self._last_pass = float("-inf")
        self.last_fraction = 0.0

    def open_until(self, t: float) -> None:
        """Look at every frame until time `t` (e.g. after a counter's entry)."""
        self._open_until = max(self._open_until, t)

    def _small_grey(self, bgr: Image) -> Image:
        height = max(1, round(bgr.shape[0] * self.width / bgr.shape[1]))
        small = cv2.resize(bgr, (self.width, height), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        blurred: Image = cv2.GaussianBlur(grey, (5, 5), 0)
        return blurred

    def moving(self, bgr: Image, t: float) -> bool:
        """True on the first frame, when enough pixels changed since the last frame, while held open, or when no
        frame was let through for `look_every_s`."""
        grey = self._small_grey(bgr)
        previous, self._previous = self._previous, grey
        if previous is None or previous.shape != grey.shape:
            self.last_fraction = 1.0
        else:
            diff = cv2.absdiff(grey, previous)
            self.last_fraction = float(np.count_nonzero(diff > self.pixel_delta)) / diff.size
        passed = (
            self.last_fraction >= self.threshold or t <= self._open_until or t - self._last_pass >= self.look_every_s
        )
        if passed:
            self._last_pass = t
        return passed
