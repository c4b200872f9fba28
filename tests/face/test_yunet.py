"""The camera's face detector (OpenCV's YuNet): every face of the real photographs found at 640 px wide and at a door
camera's 60 px, in dlib's box (what `min_face_px` and the encoders expect); the faces of the door footage that dlib's
HOG detector misses (a dim hall, a turned head, the door frame across the face) found; nothing found on an empty
doorway or on people walking out with their back to the camera; the model file checked before it is run."""

import math
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.face import facestack, yunet, zoo
from edge.face.detect import Detector, encode_faces
from edge.face.facestack import Box, FaceStackError, Image
from edge.face.match import Recogniser
from edge.face.models import model
from edge.face.pipeline import Frame, Stages, process_frame
from edge.face.runner import build_stages
from edge.face.yunet import YuNetDetector
from firmware_config.devices.camera import CameraConfig
from simulators.door_pipeline import IDS, START, enrol, run
from simulators.door_scene import FACES, VISITORS, DoorScene

PHOTOS = sorted(FACES.glob("*.jpg"))


@cache
def reference_faces(photo: Path) -> list[Box]:
    """Every face in a photo, found the slow, thorough dlib way (two upsampling passes on a copy <= 1000 px)."""
    rgb = facestack.read_image(photo)
    k = min(1.0, 1000 / max(rgb.shape[:2]))
    small = np.ascontiguousarray(cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)) if k < 1 else rgb
    return [(round(t / k), round(r / k), round(b / k), round(lft / k)) for t, r, b, lft in facestack.locate(small, 2)]


def same_face(expected: Box, found: Box) -> bool:
    """Centres within half a face of each other, and the height dlib would give within a third."""
    he, hf = expected[2] - expected[0], found[2] - found[0]
    return (
        abs((expected[0] + expected[2]) - (found[0] + found[2])) < he
        and abs((expected[1] + expected[3]) - (found[1] + found[3])) < he
        and 0.75 <= hf / he <= 1.33
    )


def scaled_bgr(rgb: Image, k: float) -> Image:
    small = cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    bgr: Image = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    return bgr


@pytest.fixture(scope="module")
def detector() -> YuNetDetector:
    return YuNetDetector()


@pytest.mark.parametrize("photo", PHOTOS, ids=[p.stem for p in PHOTOS])
def test_every_face_is_found_at_640_px_and_at_60_px_in_dlibs_box(detector: YuNetDetector, photo: Path) -> None:
    rgb = facestack.read_image(photo)
    faces = reference_faces(photo)
    assert faces, f"{photo.name}: the reference found no face"
    k = 640 / rgb.shape[1]
    found = detector.detect(scaled_bgr(rgb, k))
    for face in faces:
        expected: Box = tuple(round(v * k) for v in face)  # type: ignore[assignment]
        if expected[2] - expected[0] >= 60:
            assert any(same_face(expected, f) for f in found), f"{photo.name} at 640 px: missed {expected} ({found})"
    # Nothing but faces: every box is one of the reference's faces (smaller ones included).
    scaled = [tuple(round(v * k) for v in face) for face in faces]
    assert all(any(same_face(e, f) for e in scaled) for f in found), f"{photo.name}: a box that is no face"  # type: ignore[arg-type]
    # Shrunk so that its largest face is 60 px tall, as a door camera sees a far face.
    largest = max(faces, key=lambda b: b[2] - b[0])
    k = 60 / (largest[2] - largest[0])
    expected = tuple(round(v * k) for v in largest)  # type: ignore[assignment]
    found = detector.detect(scaled_bgr(rgb, k))
    assert any(same_face(expected, f) for f in found), f"{photo.name} with 60-px faces: missed {expected} ({found})"


@pytest.mark.parametrize("face_px", [64, 90, 130])
def test_a_face_is_followed_from_where_it_was_a_frame_ago(detector: YuNetDetector, face_px: int) -> None:
    for photo in PHOTOS:
        rgb = facestack.read_image(photo)
        face = max(reference_faces(photo), key=lambda b: b[2] - b[0])
        k = face_px / (face[2] - face[0])
        bgr = scaled_bgr(rgb, k)
        expected: Box = tuple(round(v * k) for v in face)  # type: ignore[assignment]
        size = expected[2] - expected[0]
        # A third of a face up and to the left (someone walking towards the camera).
        before = (expected[0] - size // 3, expected[1] - size // 3, expected[2] - size // 3, expected[3] - size // 3)
        again = detector.follow(bgr, [before])
        assert any(same_face(expected, f) for f in again), f"{photo.name} at {face_px} px: not followed ({again})"


def test_two_faces_followed_side_by_side_are_each_reported_once(detector: YuNetDetector) -> None:
    bgr = cv2.imread(str(FACES / "obama_and_biden.jpg"))
    assert bgr is not None
    faces = detector.detect(bgr)
    assert len(faces) >= 2
    # Windows around neighbouring faces overlap and both hold both faces.
    assert len(detector.follow(bgr, faces)) == len(faces)


def visible(scene: DoorScene, index: int, t: float) -> tuple[float, float, float] | None:
    """(x, y, px) of a visit's face when it faces the camera and is whole in the frame."""
    where = scene._where(index, scene.visits[index], t)
    if where is None or where[3]:
        return None
    x, y, px, _ = where
    height = scene.size[1]
    if y - px / 2 < 0 or y + px / 2 > height:
        return None
    return x, y, px


def test_door_faces_hog_misses_are_found() -> None:
    """A 94-px face turned a little (seed 6's first visitor): dlib's HOG detector, at the camera's settings and at
    face_recognition's own (one upsampling pass of the whole frame), finds it in none of its frames in view;
    YuNet in every one, at dlib's height within a fifth."""
    scene = DoorScene(seed=6, duration_s=60.0)
    assert scene.visits[0].who == "wozniak" and scene.visits[0].face_px == 94
    yunet_detector, hog, hog_full = YuNetDetector(), Detector(0.67, 1), Detector(1.0, 1)
    frames = 0
    for index, bgr in enumerate(scene.frames()):
        if index / scene.fps > scene.visits[0].gone:
            break
        where = visible(scene, 0, index / scene.fps)
        if where is None or where[2] < 75:
            continue
        x, y, px = where
        frames += 1

        def near(boxes: list[Box]) -> list[Box]:
            return [b for b in boxes if math.hypot((b[1] + b[3]) / 2 - x, (b[0] + b[2]) / 2 - y) < px / 2]  # noqa: B023

        assert not near(hog.detect(bgr)) and not near(hog_full.detect(bgr))
        found = near(yunet_detector.detect(bgr))
        assert found, f"frame {index}: the {px:.0f}-px face was not found"
        assert 0.8 <= (found[0][2] - found[0][0]) / px <= 1.25
    assert frames >= 6


def test_no_face_on_an_empty_doorway_or_on_backs_walking_out(detector: YuNetDetector) -> None:
    """Seed 1's footage from 20 to 27 s: its first visitors walk out with their backs to the camera, and for
    stretches nobody is in view; no box may come from a back of a head, a shirt or the notice board."""
    scene = DoorScene(seed=1, duration_s=60.0)
    looked = 0
    for index, bgr in enumerate(scene.frames()):
        t = index / scene.fps
        if t > 27:
            break
        if t < 20:
            continue
        faces = [visible(scene, i, t) for i in range(len(scene.visits))]
        if any(scene._where(i, v, t) and not scene._where(i, v, t)[3] for i, v in enumerate(scene.visits)):  # type: ignore[index]
            continue  # someone faces the camera
        looked += 1
        assert not detector.detect(bgr), f"{t:.1f} s: a face where nobody faces the camera ({faces})"
    assert looked >= 20


def test_a_model_file_that_is_not_opencv_zoos_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "face_detection_yunet_2023mar.onnx"
    fake.write_bytes(yunet.model_path().read_bytes()[:-1] + b"\0")
    with pytest.raises(FaceStackError, match="not OpenCV Zoo's YuNet model"):
        yunet.check(fake)
    with pytest.raises(FaceStackError, match="cannot be read"):
        yunet.check(tmp_path / "missing.onnx")


def test_a_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zoo, "PACKAGE", "no-such-package-for-yunet")
    with pytest.raises(FaceStackError, match="not installed"):
        yunet.model_path()


def dlib_five_points(rgb: Image, box: Box) -> list[tuple[float, float]]:
    """dlib's 68-point predictor's eye centres, nose tip and mouth corners of a face, left to right in the image."""
    marks = facestack.load().face_landmarks(rgb, face_locations=[box], model="large")[0]
    eyes = [tuple(np.mean(marks[eye], axis=0)) for eye in ("left_eye", "right_eye")]
    return [*eyes, marks["nose_bridge"][-1], marks["top_lip"][0], marks["top_lip"][6]]


@pytest.mark.parametrize("photo", PHOTOS, ids=[p.stem for p in PHOTOS])
def test_each_face_found_has_its_score_and_five_landmarks_where_dlib_puts_them(
    detector: YuNetDetector, photo: Path
) -> None:
    rgb = facestack.read_image(photo)
    k = 640 / rgb.shape[1]
    bgr = scaled_bgr(rgb, k)
    small = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    faces = detector.detect(bgr)
    assert faces
    for box in faces:
        view = detector.view(box)
        assert view is not None and yunet.SCORE_THRESHOLD <= view.score <= 1
        size = box[2] - box[0]
        points = list(zip(view.landmarks[::2], view.landmarks[1::2], strict=True))
        for name, found, expected in zip(
            ("first eye", "second eye", "nose tip", "left mouth corner", "right mouth corner"),
            points,
            dlib_five_points(small, box),
            strict=True,
        ):
            off = math.dist(found, expected) / size
            # dlib's nose point is where the bridge ends, a little above the tip YuNet gives.
            assert off < (0.2 if name == "nose tip" else 0.15), (
                f"{photo.name} {box}: YuNet's {name} {found} is {off:.2f} faces from dlib's {expected}"
            )
    assert detector.view((0, 1, 1, 0)) is None  # a box it did not give
    # A follow replaces what the last search knew: the views are those of the boxes just given.
    again = detector.follow(bgr, faces[:1])
    assert all(detector.view(box) is not None for box in again)


@pytest.mark.parametrize("name", sorted(VISITORS))
def test_sface_aligned_on_yunets_landmarks_names_each_visitor_from_their_enrolment(
    detector: YuNetDetector, name: str
) -> None:
    """The gallery is enrolled as a station enrols (SFace aligned on dlib's landmarks); the visitor's other photos,
    at 640 px and shrunk to a door camera's 80-px face, encoded on YuNet's own landmarks, are nearest their own
    enrolment, within the tolerance; Biden, never enrolled, is nobody."""
    sface = model("sface")
    recogniser = Recogniser(enrol(sface), face_model=sface)
    for photo in VISITORS[name]:
        rgb = facestack.read_image(FACES / f"{photo}.jpg")
        for k in (640 / rgb.shape[1], None):
            if k is None:
                largest = max(detector.detect(scaled_bgr(rgb, 640 / rgb.shape[1])), key=lambda b: b[2] - b[0])
                k = 640 / rgb.shape[1] * 80 / (largest[2] - largest[0])
            bgr = scaled_bgr(rgb, k)
            box = max(detector.detect(bgr), key=lambda b: b[2] - b[0])
            view = detector.view(box)
            assert view is not None
            encoding = encode_faces(bgr, [box], sface, [view.landmarks])[0]
            identity = recogniser.known(encoding)
            if name not in IDS:
                assert identity is None, f"{photo} with a {box[2] - box[0]}-px face: named {identity}"
                continue
            assert identity is not None, f"{photo} with a {box[2] - box[0]}-px face: nobody within tolerance"
            assert identity.person.endswith(name), f"{photo} with a {box[2] - box[0]}-px face: {identity}"


@pytest.mark.parametrize("min_score", [0.0, 1.01])
def test_faces_scored_below_the_encoding_score_are_counted_but_not_encoded(min_score: float) -> None:
    """The camera's stages with YuNet on a still of Obama and Biden: with no floor both faces are encoded and
    observed; with a floor above any score they are still found and tracked, but nothing is encoded or observed."""
    config = CameraConfig(type="camera", id="door", source="-", gallery=Path("."))
    stages = build_stages(config, None)
    stages.detector, stages.min_encode_score, stages.detector_landmarks = YuNetDetector(), min_score, True
    stages.recogniser.set_people(enrol(model("sface")), model("sface"))
    bgr = cv2.imread(str(FACES / "obama_and_biden.jpg"))
    assert bgr is not None
    k = 640 / bgr.shape[1]
    bgr = np.ascontiguousarray(cv2.resize(bgr, None, fx=k, fy=k, interpolation=cv2.INTER_AREA))
    observations = process_frame(Frame(bgr, 0.0, START), stages)
    assert stages.stats.faces >= 2 and len(stages.tracker.tracks) >= 2
    if min_score > 1:
        assert stages.stats.encodings == 0 and observations == []
    else:
        assert stages.stats.encodings >= 2
        assert "elder-obama" in [o.identity.person for o in observations]


# Seed 3 (tuned on), 36.9-37.0 s: Allen walks in while Wozniak walks out in front of him and hides his face; YuNet
# finds it in two frames, half hidden, and its one encoding (1.17 from his enrolment) matches nobody. Counting every
# unmatched track made that an anonymous visitor: an enrolled person counted twice over (the visit itself is lost:
# his face is never seen whole). Asking two views of a stranger leaves it uncounted, and still counts the footage's
# real stranger on each of his visits.
@pytest.mark.timeout(1200)
def test_one_half_hidden_view_of_an_enrolled_person_is_not_counted_as_a_stranger() -> None:
    scene = DoorScene(seed=3, duration_s=60)
    assert any(v.who == "allen" and 35 < v.enter < 37 for v in scene.visits)

    def configure(stages: Stages) -> None:
        stages.detector, stages.anonymous_views = YuNetDetector(), 2

    result = run(scene, enrol(model("sface")), configure=configure)
    assert result.stray == [], result.stray
    assert result.wrong == [] and result.repeated == []
    assert [v.who for v in result.missed] == ["allen"]  # the hidden visit only: both of Biden's are counted
    assert sum(v.who == "biden" for v in scene.visits) == 2
