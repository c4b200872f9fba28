"""Each face model's default tolerance, measured on the test photos: it must separate every same-person pair from
every different-person pair, nearer the same-person side (a false match credits the wrong elder's visit)."""

import itertools

import numpy as np
import pytest

from edge.face.detect import Detector, encode_faces
from edge.face.facestack import Vector, read_image
from edge.face.models import FaceModel, model
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
    "guido_van_rossum_1": ["guido"],
    "guido_van_rossum_2": ["guido"],
    "guido_van_rossum_3": ["guido"],
    "guido_van_rossum_4": ["guido"],
    "guido_van_rossum_5": ["guido"],
    "paul_allen_1": ["allen"],
    "paul_allen_2": ["allen"],
    "paul_allen_3": ["allen"],
    "paul_allen_4": ["allen"],
    "paul_allen_5": ["allen"],
    "steve_wozniak_1": ["wozniak"],
    "steve_wozniak_2": ["wozniak"],
    "steve_wozniak_3": ["wozniak"],
    "steve_wozniak_4": ["wozniak"],
    "steve_wozniak_5": ["wozniak"],
}
# How far below the closest different-person pair the tolerance must sit, and how many same-person pairs may lie
# beyond it (missed: an anonymous visitor that day). dlib's 0.5 leaves two of the 43 beyond (two Paul Allen photos
# years apart at 0.54, two of Guido van Rossum at 0.505); SFace's 1.05 matches every same-person pair.
MARGIN = {"sface": 0.08, "dlib": 0.1}
SAME_BEYOND = {"sface": 0, "dlib": 2}


def faces_as_the_pipeline_sees_them(face_model: FaceModel) -> list[tuple[str, str, Vector]]:
    import cv2

    detector = Detector(scale=0.5)
    found = []
    for name, who in PEOPLE.items():
        bgr = cv2.cvtColor(read_image(photo(name)), cv2.COLOR_RGB2BGR)
        scale = min(1.0, 1000 / max(bgr.shape[:2]))  # as enrolment does with a large photo
        bgr = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else bgr
        boxes = sorted(detector.detect(bgr), key=lambda box: box[3]) or sorted(
            Detector(scale=1.0).detect(bgr), key=lambda box: box[3]
        )
        assert len(boxes) == len(who), (name, boxes)
        encodings = encode_faces(bgr, boxes, face_model)
        found += [(f"{name}#{i}", person, e) for i, (person, e) in enumerate(zip(who, encodings, strict=True))]
    return found


@pytest.mark.parametrize("name", ["sface", "dlib"])
def test_default_tolerance_separates_the_test_photos(name: str) -> None:
    face_model = model(name)
    faces = faces_as_the_pipeline_sees_them(face_model)
    same: list[tuple[float, str, str]] = []
    different: list[tuple[float, str, str]] = []
    for (a, pa, ea), (b, pb, eb) in itertools.combinations(faces, 2):
        (same if pa == pb else different).append((float(np.linalg.norm(ea - eb)), a, b))
    worst_same, closest_other = max(same), min(different)
    print(f"\n{name}: same person: {len(same)} pairs, max {worst_same}; different: {len(different)} pairs, "
          f"min {closest_other}")
    tolerance = face_model.tolerance
    assert tolerance <= closest_other[0] - MARGIN[name], (tolerance, closest_other)
    beyond = [pair for pair in same if pair[0] > tolerance]
    assert len(beyond) <= SAME_BEYOND[name], (tolerance, beyond)
