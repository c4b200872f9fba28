"""The face encoders a gallery can be enrolled with, and what distance counts as the same person for each.

Encodings of two models are not comparable (both are 128 numbers, but in different spaces), so a gallery records
the model its encodings came from, and a camera encodes faces with its gallery's model. New galleries use SFace;
galleries enrolled before it (with dlib's ResNet encoding) keep working with dlib until they are enrolled afresh.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edge.face.facestack import Box, Image, Landmarks, Vector

ModelName = Literal["sface", "dlib"]
MODEL_NAMES: tuple[ModelName, ...] = ("sface", "dlib")
DEFAULT_MODEL: ModelName = "sface"


@dataclass(frozen=True, slots=True)
class FaceModel:
    """An encoder and its measured tolerance: the largest distance between two encodings of the same person."""

    name: ModelName
    tolerance: float
    unit: bool  # its encodings are unit vectors: the mean of several is scaled back to length 1
    encode: Callable[[Image, list[Box]], list[Vector]]
    # The encoder given five landmarks found by the detector (None for a box without): for a model aligned on five
    # points (SFace), which then skips its own landmark search; None for one that needs its own (dlib).
    encode_on: Callable[[Image, list[Box], list[Landmarks | None]], list[Vector]] | None = None

    def mean(self, encodings: list[Vector]) -> Vector:
        """The mean of one face's encodings, in the model's own space."""
        mean: Vector = np.mean(np.asarray(encodings, dtype=np.float64), axis=0)
        if self.unit:
            mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
        return mean


def _sface(rgb: Image, boxes: list[Box]) -> list[Vector]:
    from edge.face import sface  # OpenCV's DNN model loads only when used

    return sface.encode(rgb, boxes)


def _sface_on(rgb: Image, boxes: list[Box], landmarks: list[Landmarks | None]) -> list[Vector]:
    from edge.face import sface

    return sface.encode(rgb, boxes, landmarks)


def _dlib(rgb: Image, boxes: list[Box]) -> list[Vector]:
    from edge.face import facestack

    return facestack.encode(rgb, boxes)


# Tolerances measured on the test photographs and the door footage (docs/face.md): for SFace, the Euclidean
# distance between unit encodings (1.05 is a cosine similarity of 0.45).
_MODELS: dict[str, FaceModel] = {
    "sface": FaceModel("sface", 1.05, True, _sface, _sface_on),
    "dlib": FaceModel("dlib", 0.5, False, _dlib),
}


def model(name: str) -> FaceModel:
    """The model called `name`; ValueError for a name this version does not know."""
    found = _MODELS.get(name)
    if found is None:
        raise ValueError(f"unknown face model {name!r} (known: {', '.join(MODEL_NAMES)})")
    return found


def load(face_model: FaceModel) -> None:
    """Load the model's weights now (fail at start-up, not on the first face)."""
    if face_model.name == "sface":
        from edge.face import sface

        sface.load()
