"""The detector comparison of docs/face.md (`python bench/face_pipeline.py --detectors`): each detector setting
through the whole pipeline on the door footage, and on the test photographs."""

import argparse
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.face.footage import IDS, START, gallery
from edge.face import facestack
from edge.face.detect import Detector
from edge.face.facestack import Box
from edge.face.models import DEFAULT_MODEL, model
from edge.face.pipeline import Frame, finish, process_frame
from edge.face.runner import build_stages
from firmware_config.devices.camera import CameraConfig
from simulators.door_scene import FACES, DoorScene, score

# (name, detect_scale, upsample, search only the moving regions)
SETTINGS = [
    ("whole frame, scale 0.5, no upsampling (the old default)", 0.5, 0, False),
    ("whole frame, scale 1, one upsampling (face_recognition's default)", 1.0, 1, False),
    ("moving regions, scale 1, no upsampling", 1.0, 0, True),
    ("moving regions, scale 1, one upsampling", 1.0, 1, True),
    ("moving regions, scale 0.67, one upsampling (chosen)", 0.67, 1, True),
]


def photo_faces(detector: Detector) -> tuple[int, int]:
    """Faces of 60 px or more in the test photos at 640 px wide: (found, all)."""
    found = total = 0
    for path in sorted(FACES.glob("*.jpg")):
        rgb = facestack.read_image(path)
        k0 = min(1.0, 1000 / max(rgb.shape[:2]))
        small = np.ascontiguousarray(cv2.resize(rgb, None, fx=k0, fy=k0, interpolation=cv2.INTER_AREA))
        k = 640 / rgb.shape[1]
        truth = [tuple(round(v / k0 * k) for v in b) for b in facestack.locate(small, 2)]
        bgr = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
        boxes = detector.detect(bgr)
        for t in truth:
            if t[2] - t[0] >= 60:
                total += 1
                found += any(abs((t[0] + t[2]) - (b[0] + b[2])) < t[2] - t[0] for b in boxes)
    return found, total


def compare_detectors(args: argparse.Namespace) -> None:
    """The detector comparison of docs/face.md: each setting on the footage and on the photographs."""
    people = gallery(len(IDS), model(DEFAULT_MODEL))
    scene = DoorScene(args.seed, args.seconds)
    frames = list(scene.frames())
    print(f"footage: seed {args.seed}, {len(frames)} frames, {len(scene.visits)} visits")
    print(
        "| detector | visits found | wrong person | CPU ms/frame (all stages) | smallest face found "
        "| photos: faces >= 60 px found |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for name, scale, upsample, regions in SETTINGS:
        config = CameraConfig(type="camera", id="d", source="-", gallery=Path("."), visit_gap_s=5,
                              detect_scale=scale, upsample=upsample)
        stages = build_stages(config, None)
        stages.recogniser.set_people(people)
        if not regions:
            whole = stages.detector.detect

            def everywhere(bgr: Any, _regions: list[Box] | None = None, whole: Any = whole) -> list[Box]:
                return list(whole(bgr, None))

            setattr(stages.detector, "detect", everywhere)  # noqa: B010
        observations = []
        cpu = time.process_time()
        for index, image in enumerate(frames):
            t = index / scene.fps
            observations += process_frame(Frame(image, t, START + timedelta(seconds=t)), stages)
        observations += finish(stages, START + timedelta(seconds=args.seconds))
        cpu = time.process_time() - cpu
        result = score(scene.visits, [(o.identity.person, (o.ts - START).total_seconds()) for o in observations], IDS)
        found, total = photo_faces(Detector(scale, upsample))
        print(
            f"| {name} | {result.found}/{result.visits} | {len(result.wrong)} | {1000 * cpu / len(frames):.0f} | "
            f"{stages.stats.smallest_face_px} px | {found}/{total} |",
            flush=True,
        )
