"""YuNet in the camera's real pipeline (`simulators.door_pipeline`), one change at a time, against dlib's HOG.

Variants: `hog` (dlib's HOG alone, the camera's detector until 2026-12-04), `yunet` (YuNet, SFace aligned on dlib's
68-point landmarks), `landmarks` (SFace aligned on YuNet's own five landmarks), `score85` (only views YuNet scored >=
0.85 are encoded; the others are still tracked and counted), `both`, `score75`/`score80`/`score90` (the floor swept),
`views2`/`hog_views2` (an unmatched track counts as an anonymous visitor only from two encodings on), `search01`
(YuNet with `views2`, moving regions searched every 0.1 s and known motion every 0.2 s instead of 0.2 and 0.6), and
for HOG `hog_scale1` (regions searched at scale 1, one upsampling pass: 2x the frame), `hog_search01` (searched as
`search01`) and `hog_attempts8` (8 encodings per track instead of 5); `union` (HOG and YuNet together,
`edge.face.union`) and `union_views2` (with `views2`'s rule); `shipped` (the camera as its defaults make it). Each
footage (60 s) is rendered once and every variant runs on the same frames, everyone enrolled; seeds 2, 3, 4, 6, 10 and
12 also run without Wozniak enrolled (a lookalike: he must never be named as someone else). CPU seconds:
`time.process_time` around the pipeline only, rendering excluded, OpenCV on one thread.

Usage: python -m simulators.face_detector_variants [--seeds 1,...,12] [--variants hog,yunet,...]
    [--lookalike-seeds 2,3,...]  (a JSON line per run)
"""

import argparse
import json
import time
from dataclasses import dataclass

import cv2

from edge.face.detect import Detector
from edge.face.models import DEFAULT_MODEL, model
from edge.face.pipeline import Stages
from edge.face.union import UnionDetector
from edge.face.yunet import YuNetDetector
from simulators.door_pipeline import IDS, enrol, run
from simulators.door_scene import DoorScene

LOOKALIKE_SEEDS = {2, 3, 4, 6, 10, 12}


@dataclass(frozen=True)
class Variant:
    yunet: bool
    min_encode_score: float = 0.0
    detector_landmarks: bool = False
    anonymous_views: int = 1
    search_every_s: float | None = None
    discover_every_s: float | None = None
    detect_scale: float | None = None  # HOG's regions searched at this scale (one upsampling pass) instead of 0.67
    attempts: int | None = None
    min_face_px: int | None = None
    union: bool = False  # HOG and YuNet together (`edge.face.union`), the camera's scale and upsampling
    shipped: bool = False  # nothing changed: the camera as a station file's defaults make it

    def configure(self, stages: Stages) -> None:
        if self.shipped:
            pass  # the camera's stages as `build_stages` makes them from a station file's defaults
        elif self.union:
            stages.detector = UnionDetector(Detector(0.67, 1), YuNetDetector())
        elif self.yunet:
            stages.detector = YuNetDetector()
        else:
            stages.detector = Detector(self.detect_scale or 0.67, 1)
        if self.attempts is not None:
            stages.attempts = self.attempts
        if self.min_face_px is not None:
            stages.min_face_px = self.min_face_px
        stages.min_encode_score, stages.detector_landmarks = self.min_encode_score, self.detector_landmarks
        stages.anonymous_views = self.anonymous_views
        if self.search_every_s is not None:
            stages.search_every_s = self.search_every_s
        if self.discover_every_s is not None:
            stages.discover_every_s = self.discover_every_s


VARIANTS = {
    "hog": Variant(False),
    "yunet": Variant(True),
    "landmarks": Variant(True, detector_landmarks=True),
    "score85": Variant(True, 0.85),
    "both": Variant(True, 0.85, True),
    "score75": Variant(True, 0.75),
    "score80": Variant(True, 0.80),
    "score90": Variant(True, 0.90),
    "views2": Variant(True, anonymous_views=2),
    "hog_views2": Variant(False, anonymous_views=2),
    "search01": Variant(True, anonymous_views=2, search_every_s=0.1, discover_every_s=0.2),
    "hog_scale1": Variant(False, detect_scale=1.0),
    "hog_search01": Variant(False, search_every_s=0.1, discover_every_s=0.2),
    "hog_attempts8": Variant(False, attempts=8),
    "shipped": Variant(False, shipped=True),
    "union": Variant(False, union=True),
    "union_views2": Variant(False, union=True, anonymous_views=2),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default=",".join(str(s) for s in range(1, 13)))
    parser.add_argument("--variants", default="hog,yunet,landmarks,score85,both")
    parser.add_argument("--lookalike-seeds", default=",".join(str(s) for s in sorted(LOOKALIKE_SEEDS)),
                        help="seeds also run with Wozniak never enrolled")
    args = parser.parse_args(argv)
    lookalike = {int(s) for s in args.lookalike_seeds.split(",") if s}
    cv2.setNumThreads(1)  # the measurements ran two at a time on two cores
    face_model = model(DEFAULT_MODEL)
    everyone = enrol(face_model)
    without = {name: person for name, person in IDS.items() if name != "wozniak"}
    for seed in (int(s) for s in args.seeds.split(",")):
        scene = DoorScene(seed=seed, duration_s=60)
        frames = list(scene.frames())
        for name in args.variants.split(","):
            variant = VARIANTS[name]
            for ids in [IDS, without] if seed in lookalike else [IDS]:
                people = [p for p in everyone if p.id in ids.values()]
                started = time.process_time()
                result = run(scene, people, frames, ids, face_model, variant.configure)
                cpu = time.process_time() - started
                row = {
                    "seed": seed,
                    "variant": name,
                    "without": "wozniak" if ids is without else None,
                    "found": result.found,
                    "visits": result.visits,
                    "wrong": result.wrong,
                    "repeated": result.repeated,
                    "stray": result.stray,
                    "missed": [(v.who, v.face_px) for v in result.missed],
                    "cpu_s": round(cpu, 2),
                }
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
