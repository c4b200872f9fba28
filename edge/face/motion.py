"""The cheap gate in front of face detection: frame differencing at low resolution (~1 ms a frame).

It decides *whether* to look for faces and *where*: the boxes around what moved (`last_regions`), so the detector can
search those at full resolution, upsampled, for the price of a much smaller area. It also lets a frame through every
`look_every_s` seconds whatever happens, so a person sitting still in view is still seen (and stays on their visit),
and can be held open (`open_until`), e.g. after a people counter's entry; those frames are searched whole.
"""

import cv2
import numpy as np

from edge.face.facestack import Box, Image

# Above this share of the frame, the regions are searched as one whole frame (cheaper than many overlapping crops).
WHOLE_FRAME_SHARE = 0.6


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
        self._changed: Image | None = None
        self._shape: tuple[int, ...] = ()
        self.last_regions: list[Box] = []  # where to look in the frame last let through (whole frame if forced)
        self.last_forced = False  # that frame was let through without motion (first frame, held open, periodic look)

    def look_now(self) -> None:
        """Search the next frame whole, moving or not (e.g. the gallery changed: look at who is standing there)."""
        self._last_pass = float("-inf")

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
        changed = None
        if previous is None or previous.shape != grey.shape:
            self.last_fraction = 1.0
        else:
            changed = cv2.absdiff(grey, previous) > self.pixel_delta
            self.last_fraction = float(np.count_nonzero(changed)) / changed.size
        moved = changed is not None and self.last_fraction >= self.threshold
        passed = moved or changed is None or t <= self._open_until or t - self._last_pass >= self.look_every_s
        if passed:
            self._last_pass = t
            self.last_forced = not moved
            whole = (0, bgr.shape[1], bgr.shape[0], 0)
            self.last_regions = self._regions(changed, bgr.shape) if moved and changed is not None else [whole]
        return passed

    def _regions(self, changed: Image, shape: tuple[int, ...]) -> list[Box]:
        """Boxes (full-frame pixels) around what moved, widened to take in a whole head, merged where they meet."""
        mask = cv2.dilate(changed.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        height, width = shape[:2]
        k = width / changed.shape[1]
        boxes: list[list[float]] = []
        for x, y, w, h, _area in stats[1:count]:
            # A face is at the top of what moved (a head above a walking body, or the head alone), at most about as
            # wide as that: search the top part, as tall as it is wide, widened by half its size each way (at least
            # 24 px) and more upwards, where the head may not have moved as much as the body.
            m = max(24.0, 0.5 * w * k)
            top_part = min(h, 1.2 * w)
            boxes.append([x * k - m, y * k - 1.5 * m, (x + w) * k + m, (y + top_part) * k + m])
        merged = _merge(boxes)
        clipped = [
            (max(0, round(y0)), min(width, round(x1)), min(height, round(y1)), max(0, round(x0)))
            for x0, y0, x1, y1 in merged
        ]
        area = sum((b - t) * (r - left) for t, r, b, left in clipped)
        if area >= WHOLE_FRAME_SHARE * width * height:
            return [(0, width, height, 0)]
        return clipped


def _merge(boxes: list[list[float]]) -> list[list[float]]:
    """Union of overlapping boxes (x0, y0, x1, y1), until none overlap."""
    out = [b[:] for b in boxes]
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]:
                    out[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return out
