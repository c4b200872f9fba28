"""What both approaches of the face benchmark run on: the enrolled gallery and the footage's frames, read back."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np

from edge.face import facestack
from edge.face.gallery import Person
from edge.face.models import FaceModel
from edge.face.pipeline import Frame
from simulators.door_scene import ENROL, FACES

IDS = {"obama": "elder-obama", "guido": "elder-guido", "allen": "elder-allen", "wozniak": "staff-wozniak"}
GAP_S = 5.0  # visits in the footage come at least 6 s apart per person
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def gallery(size: int, face_model: FaceModel) -> list[Person]:
    """The four enrolled people (several photos each, as `eldercare edge enrol` stores them, encoded by
    `face_model`) among `size` people."""
    people = [
        Person(
            id=IDS[name],
            role="staff" if IDS[name].startswith("staff") else "elder",
            encodings=[
                [float(x) for x in e]
                for p in photos
                for e in facestack.enrolment_encodings(FACES / f"{p}.jpg", face_model.encode)
            ],
        )
        for name, photos in ENROL.items()
    ]
    rng = np.random.default_rng(5)
    for i in range(size - len(people)):
        filler = [rng.normal(0, 0.09, 128) for _ in range(3)]
        if face_model.unit:
            filler = [v / np.linalg.norm(v) for v in filler]
        people.append(Person(id=f"elder-{i:04d}", role="elder", encodings=[list(map(float, v)) for v in filler]))
    return people


def read_frames(path: Path, fps: float) -> Iterator[Frame]:
    """The video's frames, decoded as they are used (both approaches pay the same decoding)."""
    capture = cv2.VideoCapture(str(path))
    index = 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                return
            t = index / fps
            index += 1
            yield Frame(image=image, t=t, ts=START + timedelta(seconds=t))
    finally:
        capture.release()
