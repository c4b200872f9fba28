"""HOG and YuNet together (`detector: hog+yunet`): every face HOG finds on the real photographs is kept, in HOG's own
box, each face once however many of the two find it; a face only YuNet finds (seed 6's turned head) is added with
YuNet's score and landmarks; both are the default, and a station file can choose HOG alone."""

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.face import facestack
from edge.face.detect import Detector, same_face
from edge.face.facestack import Box, Image
from edge.face.runner import build_stages
from edge.face.union import UnionDetector
from edge.face.yunet import YuNetDetector
from firmware_config.devices.camera import CameraConfig
from simulators.door_scene import FACES, DoorScene

PHOTOS = sorted(FACES.glob("*.jpg"))


@pytest.fixture(scope="module")
def union() -> UnionDetector:
    return UnionDetector(Detector(0.67, 1), YuNetDetector())


def at_640(photo: Path) -> Image:
    rgb = facestack.read_image(photo)
    k = 640 / rgb.shape[1]
    small = cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    bgr: Image = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    return bgr


@pytest.mark.parametrize("photo", PHOTOS, ids=[p.stem for p in PHOTOS])
def test_every_face_hog_finds_is_kept_in_its_box_and_each_face_once(union: UnionDetector, photo: Path) -> None:
    bgr = at_640(photo)
    hog = union.hog.detect(bgr)
    both = union.detect(bgr)
    assert set(hog) <= set(both), f"{photo.name}: HOG's {hog} not all in {both}"
    assert all(union.view(box) is None for box in hog)  # HOG's boxes carry no YuNet score
    for i, a in enumerate(both):
        assert not any(same_face(a, b) for b in both[i + 1:]), f"{photo.name}: one face twice in {both}"
    # Followed from where they were found, the faces are found again, each once.
    again = union.follow(bgr, both)
    assert len(again) == len(both) and all(any(same_face(a, b) for b in both) for a in again)


def test_a_face_only_yunet_finds_is_added_with_its_score_and_landmarks(union: UnionDetector) -> None:
    """Seed 6's first visitor, a 94-px face turned a little: HOG finds it in none of its frames in view."""
    scene = DoorScene(seed=6, duration_s=60.0)
    first = scene.visits[0]
    assert first.who == "wozniak" and first.face_px == 94
    added = 0
    for index, bgr in enumerate(scene.frames()):
        t = index / scene.fps
        if t > first.gone:
            break
        where = scene._where(0, first, t)
        if where is None or where[3] or where[2] < 75 or where[1] + where[2] / 2 > scene.size[1]:
            continue
        x, y, px, _ = where

        def near(boxes: list[Box]) -> list[Box]:
            return [b for b in boxes if math.hypot((b[1] + b[3]) / 2 - x, (b[0] + b[2]) / 2 - y) < px / 2]  # noqa: B023

        found = near(union.detect(bgr))
        assert len(found) == 1, f"frame {index}: {found}"
        assert not near(union.hog.detect(bgr))
        view = union.view(found[0])
        assert view is not None and view.score >= 0.7 and len(view.landmarks) == 10
        added += 1
    assert added >= 6


def test_the_station_file_chooses_the_detector_and_both_together_are_the_default() -> None:
    def config(**kw: str) -> CameraConfig:
        return CameraConfig(type="camera", id="door", source="-", gallery=Path("."), **kw)

    assert isinstance(build_stages(config(), None).detector, UnionDetector)
    assert isinstance(build_stages(config(detector="hog"), None).detector, Detector)
    with pytest.raises(ValueError, match="hog\\+yunet"):
        config(detector="cnn")
