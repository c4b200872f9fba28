"""The face stack (dlib through face_recognition, OpenCV, numpy), loaded on first use and checked for real.

`face_recognition` quits the interpreter with status 0 when `face_recognition_models` cannot be imported (e.g. with
setuptools >= 81, which dropped `pkg_resources`): `load()` turns that into a clear error instead.
"""

import warnings
from collections.abc import Callable
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
# Five landmarks of a face in pixels, (x, y) each: the two eye centres, the nose tip and the two mouth corners, each
# pair as the points appear from left to right in the image (the order OpenCV's `alignCrop` takes).
Landmarks = tuple[float, float, float, float, float, float, float, float, float, float]

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


# Enrolment photo quality: a face smaller than this, or blurrier, gives an encoding that matches poorly.
MIN_ENROL_FACE_PX = 80
# Variance of the Laplacian of the face scaled to 100x100 grey: the test photos measure 156-2280, the same photos
# blurred by a twentyfifth of the face's height 3-10 (docs/face.md).
MIN_ENROL_SHARPNESS = 60.0
# The face sizes a door camera sees: each enrolment photo is also encoded at these heights (when its face is larger),
# as a camera's compressed stream delivers them (JPEG at `CAMERA_JPEG_QUALITY`, sensor noise, and once more slightly
# out of focus or moving), so a small face in the doorway is compared with the same face made as small and as
# degraded, not only with the sharp original. Measured on the door footage: docs/face.md.
CAMERA_FACE_PX = (100, 80, 70, 60)
CAMERA_JPEG_QUALITY = 60
CAMERA_NOISE = 2.0  # grey levels (standard deviation)
CAMERA_BLUR = 1.0  # Gaussian sigma, px, of the blurred copy


def sharpness(rgb: Image, box: Box) -> float:
    """How sharp a face is: the variance of the Laplacian of the face box scaled to 100x100 grey."""
    import cv2

    top, right, bottom, left = box
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[top:bottom, left:right]), cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (100, 100), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def enrolment_face(path: Path, max_side: int = 1000) -> tuple[Image, Box]:
    """The photo (RGB) and the box of its one face, checked for enrolment: ValueError, with the reason, when the
    photo shows no face or several, or a face too small or too blurred for a reliable encoding."""
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
    box: Box = boxes[0]  # type: ignore[assignment]
    height = box[2] - box[0]
    if height < MIN_ENROL_FACE_PX:
        raise ValueError(
            f"{path}: the face is {height} px tall, too small for a reliable encoding (at least {MIN_ENROL_FACE_PX} "
            "px); take the photo closer or use a larger one"
        )
    sharp = sharpness(rgb, box)
    if sharp < MIN_ENROL_SHARPNESS:
        raise ValueError(
            f"{path}: the face is too blurred for a reliable encoding (sharpness {sharp:.0f}, at least "
            f"{MIN_ENROL_SHARPNESS:.0f}); hold the camera still, in good light"
        )
    return rgb, box


def enrolment_encodings(
    path: Path, encoder: Callable[[Image, list[Box]], list[Vector]], max_side: int = 1000
) -> list[Vector]:
    """Encodings (by `encoder`, a face model's) of the one face in an enrolment photo (checked by
    `enrolment_face`): at full resolution first, then at the sizes a door camera sees, as its compressed stream
    delivers them."""
    import cv2

    rgb, box = enrolment_face(path, max_side)
    height = box[2] - box[0]
    out = [encoder(rgb, [box])[0]]
    for px in CAMERA_FACE_PX:
        if height > 1.3 * px:
            k = px / height
            small_box: Box = (round(box[0] * k), round(box[1] * k), round(box[2] * k), round(box[3] * k))
            shrunk = np.ascontiguousarray(cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA))
            for blur in (0.0, CAMERA_BLUR):
                out += encoder(as_streamed(shrunk, blur, seed=px), [small_box])
    return out


def as_streamed(rgb: Image, blur: float, seed: int) -> Image:
    """`rgb` as a camera's compressed sub-stream would deliver it: optionally blurred, with sensor noise (fixed
    `seed`: the same photo always gives the same encodings), JPEG-compressed and decoded."""
    import cv2

    pixels: Image = rgb.astype(np.float32)
    if blur > 0:
        pixels = cv2.GaussianBlur(pixels, (0, 0), blur)
    pixels += np.random.default_rng(seed).normal(0, CAMERA_NOISE, (*pixels.shape[:2], 1)).astype(np.float32)
    bgr = cv2.cvtColor(np.clip(pixels, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, CAMERA_JPEG_QUALITY])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise ValueError("JPEG round trip failed")
    out: Image = np.ascontiguousarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB))
    return out


def enrolment_encoding(path: Path, encoder: Callable[[Image, list[Box]], list[Vector]], max_side: int = 1000) -> Vector:
    """The full-resolution encoding of the one face in an enrolment photo (see `enrolment_encodings`)."""
    rgb, box = enrolment_face(path, max_side)
    return encoder(rgb, [box])[0]
