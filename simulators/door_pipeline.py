"""The camera's own pipeline over door footage (`simulators.door_scene`), scored against the footage's truth.

`simulators.face_decisions` replays decision rules on every face the detector found; this runs what a station runs
(the motion gate, the search schedule, the tracker, the encoding schedule, the visit book), so its figures are the
ones to quote for the camera. The tests use the same functions.

    python -m simulators.door_pipeline --seeds 1,2,3,4,5,6,7,8,9,10,11,12 [--without wozniak] [--model dlib]
        [--detector hog|yunet|hog+yunet] [--anonymous-views N]
"""

import argparse
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.face import facestack
from edge.face.facestack import Image
from edge.face.gallery import Person
from edge.face.models import DEFAULT_MODEL, MODEL_NAMES, FaceModel, model
from edge.face.pipeline import Frame, Stages, finish, process_frame
from edge.face.runner import build_stages, face_detector
from firmware_config.devices.camera import CameraConfig
from simulators.door_scene import ENROL, FACES, DoorScene, Score, score

# The footage's enrolled people and their ids (Biden is never enrolled: he must stay an anonymous visitor).
IDS = {"obama": "elder-obama", "guido": "elder-guido", "allen": "elder-allen", "wozniak": "staff-wozniak"}
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
VISIT_GAP_S = 5.0  # a person comes in again at least 6 s after walking out
DETECTORS = ("hog", "yunet", "hog+yunet")
MIN_WHOLE_PX = 60  # the camera identifies no smaller face (`min_face_px`): visits never whole at this size are apart


def configure_detector(detector: str, anonymous_views: int = 1) -> Callable[[Stages], None]:
    """A `configure` for `run`: the camera's stages with `detector` (HOG and YuNet together are the camera's own)
    and the number of encodings an unmatched track needs to count as an anonymous visitor."""

    def configure(stages: Stages) -> None:
        if detector == "yunet":
            from edge.face.yunet import YuNetDetector  # loads and checks the model file

            stages.detector = YuNetDetector()
        else:  # HOG alone or HOG and YuNet together, as the camera builds them from a station file
            config = CameraConfig(type="camera", id="door", source="-", gallery=Path("."), detector=detector)
            stages.detector = face_detector(config)
        stages.anonymous_views = anonymous_views

    return configure


def enrol(face_model: FaceModel) -> list[Person]:
    """The footage's enrolled people, from their enrolment photos, as `eldercare edge enrol` stores them."""
    return [
        Person(
            id=IDS[name],
            role="staff" if name == "wozniak" else "elder",
            encodings=[
                [float(x) for x in e]
                for p in photos
                for e in facestack.enrolment_encodings(FACES / f"{p}.jpg", face_model.encode)
            ],
        )
        for name, photos in ENROL.items()
    ]


def run(
    scene: DoorScene,
    people: list[Person],
    images: Iterable[Image] | None = None,
    ids: Mapping[str, str] = IDS,
    face_model: FaceModel | None = None,
    configure: Callable[[Stages], None] | None = None,
) -> Score:
    """The pipeline's score on `scene` with the camera's defaults, `people` enrolled (encodings of `face_model`, the
    default model's when None), given its rendered `images` when they were already made (rendering costs more than
    the pipeline); `ids`: the enrolled among the footage's people; `configure` changes the stages before the first
    frame (another detector, another setting), for comparisons."""
    config = CameraConfig(type="camera", id="door", source="-", gallery=Path("."), visit_gap_s=VISIT_GAP_S)
    stages = build_stages(config, None)
    stages.recogniser.set_people(people, face_model or model(DEFAULT_MODEL))
    if configure is not None:
        configure(stages)
    observations = []
    for index, image in enumerate(scene.frames() if images is None else images):
        t = index / scene.fps
        observations += process_frame(Frame(image, t, START + timedelta(seconds=t)), stages)
    observations += finish(stages, START + timedelta(seconds=scene.duration_s))
    return score(scene.visits, [(o.identity.person, (o.ts - START).total_seconds()) for o in observations], ids)


def whole_faces(scene: DoorScene, result: Score) -> tuple[int, int]:
    """(visits whose face was ever whole in view at `MIN_WHOLE_PX` or more, how many of those `result` found), from
    the footage's own geometry (`DoorScene.whole_face_px`, set while its frames were rendered)."""
    seen = [v for v, px in zip(scene.visits, scene.whole_face_px, strict=True) if px >= MIN_WHOLE_PX]
    return len(seen), sum(v not in result.missed for v in seen)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4", help="footage seeds, 60 s each")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--without", choices=sorted(IDS), help="leave this person out of the gallery (a lookalike)")
    parser.add_argument("--model", choices=MODEL_NAMES, default=DEFAULT_MODEL, help="the face model enrolled with")
    parser.add_argument("--detector", choices=DETECTORS, default="hog+yunet",
                        help="the face detector (hog+yunet: the camera's)")
    parser.add_argument("--anonymous-views", type=int, default=1,
                        help="encodings an unmatched track needs to count as an anonymous visitor")
    args = parser.parse_args(argv)
    configure = configure_detector(args.detector, args.anonymous_views)
    face_model = model(args.model)
    everyone = enrol(face_model)
    ids = {name: person for name, person in IDS.items() if name != args.without}
    people = [p for p in everyone if p.id in ids.values()]
    totals = [0] * 7
    for seed in (int(s) for s in args.seeds.split(",")):
        started = time.monotonic()
        scene = DoorScene(seed=seed, duration_s=args.seconds)
        result = run(scene, people, ids=ids, face_model=face_model, configure=configure)
        seen, seen_found = whole_faces(scene, result)
        missed = ", ".join(f"{v.who} {v.face_px} px" + ("" if whole >= MIN_WHOLE_PX else " (never whole)")
                           for v, whole in zip(scene.visits, scene.whole_face_px, strict=True)
                           if v in result.missed) or "-"
        print(f"seed {seed}: {result.found}/{result.visits} found, {len(result.wrong)} to the wrong person, "
              f"{len(result.repeated)} repeated, {len(result.stray)} stray; {seen_found}/{seen} of the visits with "
              f"a whole face of {MIN_WHOLE_PX} px found; missed: {missed} ({time.monotonic() - started:.0f} s)",
              flush=True)
        for what, items in (("wrong", result.wrong), ("repeated", result.repeated), ("stray", result.stray)):
            for item in items:
                print(f"  {what}: {item}", flush=True)
        for i, n in enumerate((result.found, result.visits, len(result.wrong), len(result.repeated),
                               len(result.stray), seen, seen_found)):
            totals[i] += n
    found, visits, wrong, repeated, stray, seen, seen_found = totals
    print(f"all: {found}/{visits} found ({100 * found / max(visits, 1):.1f} %), {wrong} to the wrong person, "
          f"{repeated} repeated, {stray} stray; {seen} visits showed a whole face of {MIN_WHOLE_PX} px or more, "
          f"{seen_found} of them found (face model {face_model.name}, tolerance {face_model.tolerance}, "
          f"detector {args.detector}, anonymous after {args.anonymous_views} view(s))")


if __name__ == "__main__":
    main()
