"""The gated face pipeline against the naive approach, on realistic door-camera footage made from real photographs.

Footage: `simulators.door_scene` (640x480, 10 fps, faces 50-150 px, two at a time, head turns, the door frame hiding
part of the view, light switched off and on, motion blur, sensor noise, JPEG compression), written to a file and
read back through cv2.VideoCapture by both approaches. Gallery: four people enrolled from other photos of them than
the footage shows, among 996 others (random encodings of the same scale); one visitor is never enrolled.

Naive: face_recognition's default detection (one upsampling pass, the full frame, every frame), every face found
encoded and matched (faces cut by the frame's edge or under 60 px skipped, as the pipeline does). Pipeline: the
camera's defaults (motion gate, detection on the moving regions, the faces found followed in small windows around
them, tracker, a few encodings per person).
Both are scored against the footage's truth: visits found, visits given to the wrong enrolled person, repeated and
stray observations. The headline ratio is throughput per CPU second (naive CPU time / pipeline CPU time).

Usage: python bench/face_pipeline.py [--seconds 40] [--seed 1] [--quick]
       python bench/face_pipeline.py --detectors [--seconds 60]   # the detector comparison table of docs/face.md
"""

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The parts, one job each (`bench/face/`); their names stay importable from here, where callers import them.
from bench.face.detectors import SETTINGS, compare_detectors, photo_faces
from bench.face.footage import GAP_S, IDS, START, gallery, read_frames
from bench.face.measure import Costs, Result, Run, naive, pipeline, rss_mib, timed
from bench.face.report import (
    IN_VIEW_S,
    LOOKS_NEEDED,
    PI4_SLOWDOWN,
    REGION_SEARCHES_PER_S,
    describe,
    report,
    walk_in_fps,
)
from edge.face import facestack
from edge.face.models import DEFAULT_MODEL, model
from edge.face.models import load as load_model
from firmware_config.devices.camera import CameraConfig
from simulators.door_scene import DoorScene

__all__ = ["GAP_S", "IDS", "IN_VIEW_S", "LOOKS_NEEDED", "PI4_SLOWDOWN", "REGION_SEARCHES_PER_S", "SETTINGS", "START",
           "Costs", "Result", "Run", "compare_detectors", "describe", "gallery", "main", "naive", "photo_faces",
           "pipeline", "read_frames", "rss_mib", "timed", "walk_in_fps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40, help="length of the footage (the recorded full run: 40)")
    parser.add_argument("--seed", type=int, default=1, help="the footage's seed")
    parser.add_argument("--gallery", type=int, default=1000, help="people in the gallery")
    parser.add_argument("--detectors", action="store_true",
                        help="compare detector settings instead (the table in docs/face.md); no headline")
    parser.add_argument("--quick", action="store_true", help="12 s of footage (under a minute): a smoke run for CI")
    args = parser.parse_args()
    seconds = 12.0 if args.quick else args.seconds
    if args.detectors:
        compare_detectors(args)
        return

    print(
        f"machine: {platform.machine()}, {platform.platform()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}"
    )
    before = rss_mib()
    facestack.load()
    load_model(model(DEFAULT_MODEL))
    stack = rss_mib()
    people, dlib_people = gallery(args.gallery, model(DEFAULT_MODEL)), gallery(args.gallery, model("dlib"))
    scene = DoorScene(args.seed, seconds)
    config = CameraConfig(type="camera", id="bench", source="-", gallery=Path("."), visit_gap_s=GAP_S)
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "doorway.avi"
        n = scene.write(video)
        sizes = sorted({v.face_px for v in scene.visits} | {v.smallest_px for v in scene.visits})
        print(
            f"footage: seed {args.seed}, {n} frames 640x480 at {scene.fps:.0f} fps ({seconds:.0f} s), "
            f"{len(scene.visits)} visits, faces {sizes[0]}-{sizes[-1]} px; gallery {len(people)} people; "
            f"encoders: pipeline {DEFAULT_MODEL} (tolerance {model(DEFAULT_MODEL).tolerance}), naive dlib (tolerance "
            f"{model('dlib').tolerance}); visit gap {GAP_S} s"
        )
        ours = timed("pipeline", lambda: pipeline(read_frames(video, scene.fps), people, config))
        base = timed("naive", lambda: naive(read_frames(video, scene.fps), dlib_people, config.min_face_px))
    report(scene, n, ours, base, before, stack)


if __name__ == "__main__":
    main()
