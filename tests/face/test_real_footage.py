"""Faces as a door camera really sees them: the real photographs at 640 px wide and shrunk to 60-px faces, a real
photograph with faces under 160 px through `camera-test`, and door-camera footage composed from the photographs
(`simulators.door_scene`) scored against its truth."""

from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.face import facestack
from edge.face.detect import Detector
from edge.face.facestack import Box, Image
from edge.face.gallery import Person
from edge.face.models import DEFAULT_MODEL, model
from edge.face.pipeline import Frame
from simulators.door_pipeline import IDS, START, enrol
from simulators.door_pipeline import run as run_pipeline
from simulators.door_scene import FACES, DoorScene, Score, score
from tests.face.cli import eldercare

PHOTOS = sorted(FACES.glob("*.jpg"))


def reference_faces(rgb: Image) -> list[Box]:
    """Every face in a photo, found the slow, thorough way (two upsampling passes on a copy <= 1000 px)."""
    k = min(1.0, 1000 / max(rgb.shape[:2]))
    small = np.ascontiguousarray(cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)) if k < 1 else rgb
    return [(round(t / k), round(r / k), round(b / k), round(lft / k)) for t, r, b, lft in facestack.locate(small, 2)]


def overlaps(a: Box, b: Box) -> bool:
    """The same face: the boxes' centres lie within half a face of each other."""
    return abs((a[0] + a[2]) - (b[0] + b[2])) / 2 < (a[2] - a[0]) / 2 and abs((a[1] + a[3]) - (b[1] + b[3])) / 2 < (
        a[1] - a[3]
    ) / 2


def scaled(rgb: Image, k: float) -> Image:
    out: Image = np.ascontiguousarray(cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA))
    return out


@pytest.mark.parametrize("photo", PHOTOS, ids=[p.stem for p in PHOTOS])
def test_every_face_of_60_px_or_more_is_found_at_640_px_and_at_door_camera_size(photo: Path) -> None:
    rgb = facestack.read_image(photo)
    faces = reference_faces(rgb)
    assert faces, f"{photo.name}: the reference found no face"
    detector = Detector()  # the camera's defaults, on a whole frame (a still, or the first frame of a stream)
    k = 640 / rgb.shape[1]
    bgr = cv2.cvtColor(scaled(rgb, k), cv2.COLOR_RGB2BGR)
    found = detector.detect(bgr)
    for face in faces:
        expected = tuple(round(v * k) for v in face)
        if expected[2] - expected[0] >= 60:
            assert any(overlaps(expected, f) for f in found), f"{photo.name} at 640 px: missed {expected}"  # type: ignore[arg-type]
    # Shrunk so that its largest face is 60 px tall, as a door camera sees a far face.
    largest = max(faces, key=lambda b: b[2] - b[0])
    k = 60 / (largest[2] - largest[0])
    bgr = cv2.cvtColor(scaled(rgb, k), cv2.COLOR_RGB2BGR)
    expected = tuple(round(v * k) for v in largest)
    assert any(overlaps(expected, f) for f in detector.detect(bgr)), f"{photo.name} with 60-px faces: missed"  # type: ignore[arg-type]


def test_a_photograph_with_faces_under_160_px_gives_observations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The failure this camera once had: a 700-px-wide photo of people (faces 52-64 px) gave no face at all."""
    rgb = facestack.read_image(FACES / "obama_and_biden.jpg")
    k = 700 / rgb.shape[1]
    small = tmp_path / "two_people_700.jpg"
    cv2.imwrite(str(small), cv2.cvtColor(scaled(rgb, k), cv2.COLOR_RGB2BGR))
    result = eldercare(capsys, "edge", "camera-test", str(small))
    assert result.code == 0, result.err
    observations = result.out.splitlines()
    assert len(observations) >= 2, result.err
    assert "faces by height:" in result.err and "smallest" in result.err
    # Obama's and Biden's faces (64 px here) are found and named; the girl's (56 px in dlib's box, found by YuNet)
    # is under `min_face_px`: counted, reported as the smallest, never encoded.
    assert ("summary: 1 frames read, 0 gated out, 3 faces found (smallest 56 px tall), 2 encodings, 2 observations"
            in result.err)
    assert "1 under 60 px, 2 of 60-99 px" in result.err


@pytest.fixture(scope="module")
def people() -> list[Person]:
    return enrol(model(DEFAULT_MODEL))


# Two 60-s footages the defaults were not tuned on alone: 21 visits, faces 50-150 px.
FOOTAGE_SEEDS = (2, 3)


@pytest.fixture(scope="module")
def footage_score(people: list[Person]) -> Score:
    scores = [run_pipeline(DoorScene(seed=seed, duration_s=60), people) for seed in FOOTAGE_SEEDS]
    return Score(
        visits=sum(s.visits for s in scores),
        found=sum(s.found for s in scores),
        wrong=[w for s in scores for w in s.wrong],
        repeated=[r for s in scores for r in s.repeated],
        stray=[x for s in scores for x in s.stray],
        missed=[m for s in scores for m in s.missed],
    )


# Rendering and running two minutes of footage: about a minute on an idle 2-core machine, several under load.
@pytest.mark.timeout(1200)
def test_door_footage_no_wrong_person_and_one_observation_per_visit(footage_score: Score) -> None:
    assert footage_score.visits >= 20
    assert footage_score.wrong == []  # nobody's visit credited to another enrolled person
    assert footage_score.repeated == []  # one observation per person per visit
    # An enrolled person's face left an anonymous visitor is allowed only as that visit's one observation (the
    # person-time counted once, the elder not named), and once here: seed 3 at 37 s, Allen half hidden behind
    # Wozniak walking out, whose one view YuNet finds matches nobody.
    assert len(footage_score.stray) <= 1, footage_score.stray
    for stray in footage_score.stray:
        at = float(stray.split(" at ")[1].split(" s ")[0])
        in_view = stray.split("in view: ")[1].rstrip(")").split(", ")
        assert any(v.who in in_view and v.enter - 0.5 <= at <= v.gone + 2.5 for v in footage_score.missed), (
            f"{stray}: an extra observation of a visit already observed")


# The issue asks for 95 % of visits, judged on 24 fresh footages (docs/face.md, "HOG and YuNet together": 97.0 %);
# two footages are too few to hold a percentage to, so this guards against a change that loses several visits.
@pytest.mark.timeout(1200)
def test_door_footage_visits_found_90_percent(footage_score: Score) -> None:
    # Measured on these two footages: 20 of 21 (Allen at 97 px, half hidden behind Wozniak, missed).
    assert footage_score.found_share >= 0.9, footage_score.missed


# A stranger who looks like someone enrolled: Wozniak, left out of the gallery here, comes within 1.12 of Guido (docs/
# face.md, "Choosing the encoder"). At the default tolerance (1.05) each of his visits is an anonymous visitor; with
# 1.12 two of his three were counted as Guido (with dlib's encoding the same happened at 0.53 against its 0.5).
@pytest.mark.timeout(1200)
def test_a_stranger_who_looks_like_an_enrolled_person_is_not_counted_as_them(people: list[Person]) -> None:
    enrolled = {name: person for name, person in IDS.items() if name != "wozniak"}
    result = run_pipeline(DoorScene(seed=4, duration_s=60), [p for p in people if p.id in enrolled.values()],
                          ids=enrolled)
    assert sum(v.who == "wozniak" for v in DoorScene(seed=4, duration_s=60).visits) == 3
    assert result.wrong == []
    assert [v for v in result.missed if v.who == "wozniak"] == []  # each of his visits: an anonymous visitor


@pytest.mark.parametrize("seed", range(1, 13))
def test_every_footage_seed_places_its_people_in_the_frame(seed: int) -> None:
    """The decision rules are measured on seeds 1-12 (docs/face.md): every one must render. Seed 5 once failed at the
    last instant of someone's walk out (a position just below 0 raised to a power gave a complex number)."""
    scene = DoorScene(seed=seed, duration_s=60)
    for i, visit in enumerate(scene.visits):
        for index in range(scene.frame_count):
            for t in (index / scene.fps, (index - 1 / 3) / scene.fps):  # the frame, and its exposure's start
                where = scene._where(i, visit, t)
                assert where is None or all(isinstance(v, float) for v in where[:3]), (seed, visit, t, where)


def test_pipeline_and_naive_baseline_find_the_same_visits(people: list[Person]) -> None:
    from bench.face_pipeline import naive

    scene = DoorScene(seed=4, duration_s=12, face_px=(90, 150))
    images = list(scene.frames())  # rendered once: both see the very same frames
    ours = run_pipeline(scene, people, images)
    frames = (Frame(im, i / scene.fps, START + timedelta(seconds=i / scene.fps)) for i, im in enumerate(images))
    found, _, _ = naive(frames, enrol(model("dlib")), 60)
    theirs = score(scene.visits, found, IDS)
    assert ours.found == theirs.found == ours.visits
    assert ours.wrong == theirs.wrong == []


def test_enrolment_refuses_a_tiny_or_blurred_face(
    tmp_path: Path, gallery_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rgb = cv2.imread(str(FACES / "obama_1.jpg"))
    assert rgb is not None
    tiny, blurred = tmp_path / "tiny.jpg", tmp_path / "blurred.jpg"
    cv2.imwrite(str(tiny), cv2.resize(rgb, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA))  # a ~50 px face
    cv2.imwrite(str(blurred), cv2.GaussianBlur(rgb, (0, 0), 10))
    gallery = str(tmp_path / "gallery")
    for photo, reason in ((tiny, "too small for a reliable encoding"), (blurred, "too blurred")):
        refused = eldercare(capsys, "edge", "enrol", "--gallery", gallery, "--id", "elder-1", "--role", "elder",
                            str(FACES / "obama_2.jpg"), str(photo))
        assert refused.code == 1 and reason in refused.err and "nothing was enrolled" in refused.err, refused.err
    several = eldercare(capsys, "edge", "enrol", "--gallery", gallery, "--id", "elder-1", "--role", "elder",
                        str(FACES / "obama_1.jpg"), str(FACES / "obama_2.jpg"), str(FACES / "obama_3.jpg"))
    assert several.code == 0 and "from 3 photo(s)" in several.out, several.err


# Seed 10 (not tuned on), 51.4-52.0 s: Allen, named, walks down the frame while Wozniak walks out in front of him;
# his face is not found for 0.6 s and then 110 px lower. The tracker used to start a second track there, whose one
# encoding (his face half hidden) matched nobody: Allen was observed a second time, as an anonymous visitor.
@pytest.mark.timeout(1200)
def test_a_face_lost_for_a_moment_while_walking_is_not_observed_again_as_an_anonymous_visitor(
    people: list[Person],
) -> None:
    scene = DoorScene(seed=10, duration_s=60)
    allen = [v for v in scene.visits if v.who == "allen" and v.enter > 50]
    assert len(allen) == 1
    result = run_pipeline(scene, people)
    assert result.stray == [], result.stray
    assert result.wrong == [] and result.repeated == []
    assert allen[0] not in result.missed
