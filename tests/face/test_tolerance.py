"""The default tolerance, measured on the test photos: it must separate every same-person pair from every
different-person pair, closer to the same-person side's edge (a false match credits the wrong elder's visit)."""

import itertools

import numpy as np

from edge.face.detect import Detector, encode_faces
from edge.face.facestack import Vector, read_image
from firmware_config.devices.camera import CameraConfig
from tests.face.conftest import photo

# Who is in each photo, faces ordered left to right (obama_and_biden also shows a girl, a third person).
PEOPLE = {
    "obama_1": ["obama"],
    "obama_2": ["obama"],
    "obama_3": ["obama"],
    "obama_480p": ["obama"],
    "biden_1": ["biden"],
    "biden_2": ["biden"],
    "obama_and_biden": ["biden", "obama", "girl"],
}


def faces_as_the_pipeline_sees_them() -> list[tuple[str, str, Vector]]:
    import cv2

    detector = Detector(scale=0.5)
    found = []
    for name, who in PEOPLE.items():
        bgr = cv2.cvtColor(read_image(photo(name)), cv2.COLOR_RGB2BGR)
        boxes = sorted(detector.detect(bgr), key=lambda box: box[3])
        assert len(boxes) == len(who), (name, boxes)
        encodings = encode_faces(bgr, boxes)
        found += [(f"{name}#{i}", person, e) for i, (person, e) in enumerate(zip(who, encodings, strict=True))]
    return found


def test_default_tolerance_separates_the_test_photos() -> None:
    faces = faces_as_the_pipeline_sees_them()
    same: list[tuple[float, str, str]] = []
    different: list[tuple[float, str, str]] = []
    for (a, pa, ea), (b, pb, eb) in itertools.combinations(faces, 2):
        (same if pa == pb else different).append((float(np.linalg.norm(ea - eb)), a, b))
    tolerance = CameraConfig.model_fields["tolerance"].default
    worst_same, closest_other = max(same), min(different)
    print(f"\nsame person: {len(same)} pairs, max {worst_same}; different: {len(different)} pairs, min {closest_other}")
    assert worst_same[0] + 0.05 <= tolerance <= closest_other[0] - 0.15, (worst_same, tolerance, closest_other)
