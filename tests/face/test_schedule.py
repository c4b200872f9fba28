"""Where the pipeline looks for faces: following a face found earlier in a small window around it (on real
photographs), and the schedule that decides between searching the moving regions and following."""

import cv2
import numpy as np
import pytest

from edge.face import facestack, schedule
from edge.face.detect import Detector
from edge.face.facestack import Box, Image
from edge.face.track import Track
from simulators.door_scene import FACES

PHOTOS = sorted(FACES.glob("*.jpg"))


def same_face(a: Box, b: Box) -> bool:
    """Centres within half a face of each other, heights within one step of dlib's pyramid (6/5) and a bit."""
    ha, hb = a[2] - a[0], b[2] - b[0]
    return (
        abs((a[0] + a[2]) - (b[0] + b[2])) < ha
        and abs((a[1] + a[3]) - (b[1] + b[3])) < ha
        and max(ha, hb) / min(ha, hb) <= 1.3
    )


def largest_face(rgb: Image) -> Box:
    """The photo's largest face, found thoroughly (one upsampling pass on a copy at most 1000 px)."""
    k = min(1.0, 1000 / max(rgb.shape[:2]))
    small = np.ascontiguousarray(cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA))
    top, right, bottom, left = max(facestack.locate(small, 1), key=lambda b: b[2] - b[0])
    return round(top / k), round(right / k), round(bottom / k), round(left / k)


@pytest.mark.parametrize("face_px", [64, 90, 130])
def test_a_face_is_followed_where_the_region_search_found_it(face_px: int) -> None:
    detector = Detector(scale=0.67, upsample=1)  # the camera's defaults
    followed = 0
    for photo in PHOTOS:
        rgb = facestack.read_image(photo)
        face = largest_face(rgb)
        k = face_px / (face[2] - face[0])
        bgr = cv2.cvtColor(np.ascontiguousarray(cv2.resize(rgb, None, fx=k, fy=k)), cv2.COLOR_RGB2BGR)
        found = [b for b in detector.detect(bgr) if same_face(tuple(round(v * k) for v in face), b)]  # type: ignore[arg-type]
        assert found, f"{photo.name} at {face_px} px: the region search missed it"
        box = found[0]
        size = box[2] - box[0]
        # Where it was a frame ago: a third of a face up and to the left (someone walking towards the camera).
        before = (box[0] - size // 3, box[1] - size // 3, box[2] - size // 3, box[3] - size // 3)
        again = [b for b in detector.follow(bgr, [before]) if same_face(box, b)]
        assert again, f"{photo.name} at {face_px} px: found at {box} by the region search, not followed from {before}"
        followed += 1
    assert followed == len(PHOTOS)


def test_following_finds_nothing_where_there_is_no_face() -> None:
    detector = Detector(scale=0.67, upsample=1)
    rgb = facestack.read_image(FACES / "obama_and_biden.jpg")
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    boxes = detector.detect(bgr)
    assert len(boxes) >= 2
    assert len(detector.follow(bgr, boxes)) == len(boxes)  # overlapping windows: each face once
    # A face-sized box in the empty top-left corner: nothing there, however the window is searched.
    size = min(b[2] - b[0] for b in boxes)
    assert detector.follow(bgr, [(0, size, size, 0)]) == []


def track(box: Box, last_seen: float) -> Track:
    return Track(id=1, box=box, first_seen=0.0, last_seen=last_seen)


REGION: Box = (100, 300, 400, 100)  # 200 px wide: one person whose face is at least 200 / 7 px wide


def discover(t: float, regions: list[Box], tracks: list[Track], empty: list[Box] | None = None) -> bool:
    return schedule.discover(t, regions, tracks, empty or [], searched_at=1.0, every_s=0.2, known_every_s=0.6)


def test_new_motion_is_searched_every_fifth_of_a_second() -> None:
    assert not discover(1.1, [REGION], [])  # searched 0.1 s ago
    assert discover(1.2, [REGION], [])  # something moves and no face followed explains it


def test_motion_of_a_followed_face_is_searched_less_often() -> None:
    face = (120, 230, 180, 170)  # 60 px wide, in the region
    assert not discover(1.2, [REGION], [track(face, 1.1)])
    assert not discover(1.4, [REGION], [track(face, 1.3)])
    assert discover(1.6, [REGION], [track(face, 1.5)])  # someone may walk beside them: searched all the same
    # A face not found for a while explains nothing: its person may have turned round, or it was someone else.
    assert discover(1.2, [REGION], [track(face, 0.7)])
    # Outside the region, or too small for a region that wide (two people side by side, one followed).
    assert discover(1.2, [REGION], [track((10, 40, 40, 10), 1.1)])
    assert discover(1.2, [REGION], [track((120, 215, 145, 190), 1.1)])
    # Two moving regions, only one explained: the other may be someone coming in.
    assert discover(1.2, [REGION, (50, 600, 150, 500)], [track(face, 1.1)])


def test_motion_where_no_face_was_found_is_searched_less_often() -> None:
    # Someone walking out with their back to the camera: the region moved a little since it was searched in vain.
    moved = (110, 320, 410, 120)
    assert not discover(1.2, [moved], [], empty=[REGION])
    assert discover(1.6, [moved], [], empty=[REGION])
    assert discover(1.2, [(50, 600, 150, 500)], [], empty=[REGION])  # elsewhere: new
    shape = (480, 640, 3)
    whole: Box = (0, 640, 480, 0)
    assert schedule.empty_regions([REGION, whole], [], shape) == [REGION]  # a whole frame says nothing about where
    assert schedule.empty_regions([REGION], [(120, 230, 180, 170)], shape) == []


def test_followed_faces_every_frame_while_one_waits_to_be_identified() -> None:
    tracks = [track((120, 230, 180, 170), 1.0)]
    assert schedule.to_follow(1.1, tracks, identifying=True, followed_at=1.0, every_s=0.2) == tracks
    assert schedule.to_follow(1.1, tracks, identifying=False, followed_at=1.0, every_s=0.2) == []
    assert schedule.to_follow(1.2, tracks, identifying=False, followed_at=1.0, every_s=0.2) == tracks
    # Not found for more than two intervals (turned away, hidden, gone): left to the searches of the moving regions.
    assert schedule.to_follow(1.5, tracks, identifying=True, followed_at=1.4, every_s=0.2) == []
