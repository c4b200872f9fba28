"""The face stack (dlib through face_recognition, OpenCV, numpy), loaded on first use and checked for real.

`face_recognition` quits the interpreter with status 0 when `face_recognition_models` cannot be imported (e.g. with
setuptools >= 81, which dropped `pkg_resources`): `load()` turns that into a clear error instead.
"""

import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

# BGR (OpenCV) or RGB (dlib) pixels, uint8.
Image = npt.NDArray[Any]
Vector = npt.NDArray[np.float64]
# (top, right, bottom, left) in pixels, as dlib and face_recognition give them.
Box = tuple[int, int, int, int]

_module: ModuleType | None = None


class FaceStackError(Exception):
    """The face stack is not installed or not usable."""


def load() -> ModuleType:
    """`face_recognition`, imported once; raises FaceStackError when it is missing or would quit."""
    global _module
    if _module is None:
        try:
            with warnings.catch_warnings():
                # face_recognition_models warns that pkg_resources is deprecated on every import.
                warnings.simplefilter("ignore", UserWarning)
                import face_recognition
        except SystemExit:
            raise FaceStackError(
                "face_recognition_models is not importable (needs setuptools<81): run scripts/setup"
            ) from None
        except ImportError as exc:
            raise FaceStackError(f"the face stack is not installed ({exc.name}): run scripts/setup") from None
        _module = face_recognition
    return _module


def read_image(path: Path) -> Image:
    """An image file as an RGB array; a clear error when it cannot be read."""
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{path}: not a readable image")
    rgb: Image = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return rgb


def locate(rgb: Image, upsample: int = 0) -> list[Box]:
    """Face boxes in an RGB image (dlib's HOG detector)."""
    boxes: list[Any] = load().face_locations(rgb, number_of_times_to_upsample=upsample, model="hog")
    return [(int(t), int(r), int(b), int(left)) for t, r, b, left in boxes]


def encode(rgb: Image, boxes: list[Box]) -> list[Vector]:
    """The 128-d encoding of each face box, computed on this device."""
    if not boxes:
        return []
    vectors: list[Vector] = load().face_encodings(rgb, known_face_locations=boxes, num_jitters=1, model="small")
    return vectors


def enrolment_encoding(path: Path, max_side: int = 1000) -> Vector:
    """The one face in an enrolment photo; ValueError when it shows no face or several."""
    import cv2

    rgb = read_image(path)
    # Enrolment must not miss a face, but a phone's 12-megapixel photo upsampled would take seconds and a lot of
    # memory: detect (with one upsampling pass) on a copy at most `max_side` pixels wide, encode at full resolution.
    scale = min(1.0, max_side / max(rgb.shape[:2]))
    small = rgb if scale == 1 else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    boxes = [tuple(round(v / scale) for v in box) for box in locate(np.ascontiguousarray(small), upsample=1)]
    if not boxes:
        raise ValueError(f"{path}: no face found; use a clear, front-facing photo of one person")
    if len(boxes) > 1:
        raise ValueError(f"{path}: {len(boxes)} faces found; enrolment needs a photo of exactly one person")
    return encode(rgb, boxes)[0]  # type: ignore[arg-type]
