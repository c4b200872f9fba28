"""dlib's HOG detector and OpenCV's YuNet searching the same regions, each face kept once.

HOG misses faces YuNet finds (a turned head, a dim hall, a face blurred by walking), and YuNet's extra views of
faces half hidden were the ones that left anonymous observations of enrolled people when YuNet alone was the
detector (docs/face.md, "Enrolled people observed as anonymous visitors"). Together, a face both find keeps HOG's
box (the box the encoders' landmark search and the 60-px `min_face_px` were measured on) and YuNet only adds the
faces HOG did not find, in YuNet's box turned into dlib's (`yunet.as_dlib_box`) with its score and landmarks.
"""

from edge.face.detect import Detector, View, same_face
from edge.face.facestack import Box, Image
from edge.face.yunet import YuNetDetector


class UnionDetector:
    """The faces `hog` finds, and those `yunet` finds that `hog` did not: the interface of `detect.Detector`."""

    def __init__(self, hog: Detector, yunet: YuNetDetector) -> None:
        self.hog, self.yunet = hog, yunet
        self._added: set[Box] = set()

    @property
    def smallest_px(self) -> int:
        """The smaller of the two detectors' smallest faces."""
        return min(self.hog.smallest_px, self.yunet.smallest_px)

    def view(self, box: Box) -> View | None:
        """YuNet's score and landmarks of a face only YuNet found; none for HOG's boxes (dlib gives none)."""
        return self.yunet.view(box) if box in self._added else None

    def detect(self, bgr: Image, regions: list[Box] | None = None) -> list[Box]:
        """Face boxes in full-frame pixels, searched in `regions` (full-frame boxes) or the whole frame."""
        return self._merge(self.hog.detect(bgr, regions), self.yunet.detect(bgr, regions))

    def follow(self, bgr: Image, faces: list[Box]) -> list[Box]:
        """The faces found near `faces` by either detector, each once."""
        return self._merge(self.hog.follow(bgr, faces), self.yunet.follow(bgr, faces))

    def _merge(self, hog: list[Box], yunet: list[Box]) -> list[Box]:
        self._added = {box for box in yunet if not any(same_face(box, seen) for seen in hog)}
        return hog + [box for box in yunet if box in self._added]
