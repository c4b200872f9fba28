"""The gallery a replay decides against: the footage's enrolled people, enrolled as `eldercare edge enrol` does,
and optionally with each photo dimmed and blurred as the door camera would see it (an experiment: docs/face.md)."""

from pathlib import Path

import cv2
import numpy as np

from edge.face import facestack
from edge.face.models import FaceModel
from simulators.door_scene import ENROL, FACES
from simulators.face_recording import Array


def variants(path: Path, face_model: FaceModel) -> list[Array]:
    """The experiment: the enrolment photo at the camera's face sizes, dimmed to half the light, and blurred along
    the vertical by a twentieth of the face's height (someone walking towards the camera), each as streamed."""
    rgb, box = facestack.enrolment_face(path)
    height, out = box[2] - box[0], []
    for px in facestack.CAMERA_FACE_PX:
        if height > 1.3 * px:
            k = px / height
            small_box: facestack.Box = (round(box[0] * k), round(box[1] * k), round(box[2] * k), round(box[3] * k))
            shrunk = np.ascontiguousarray(cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA))
            dim = np.clip(shrunk.astype(np.float32) * 0.5, 0, 255).astype(np.uint8)
            walking = np.ascontiguousarray(cv2.blur(shrunk, (1, max(2, round(px / 20)))))
            for image, seed in ((dim, px + 1), (walking, px + 2)):
                out += face_model.encode(facestack.as_streamed(image, 0.0, seed=seed), [small_box])
    return out


def gallery(extra: bool, face_model: FaceModel) -> dict[str, Array]:
    """The footage's enrolled people, enrolled as `eldercare edge enrol` does (and with `variants` when `extra`)."""
    def encodings(photo: Path) -> list[Array]:
        return facestack.enrolment_encodings(photo, face_model.encode) + (
            variants(photo, face_model) if extra else []
        )

    return {name: np.asarray([e for p in photos for e in encodings(FACES / f"{p}.jpg")])
            for name, photos in ENROL.items()}
