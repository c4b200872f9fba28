"""The two approaches of the face benchmark, run and measured: CPU seconds per stage, encodings, observations.

Naive: face_recognition's default detection (one upsampling pass, the full frame, every frame), every face found
encoded and matched. Pipeline: the camera's stages with their defaults, each wrapped to count its CPU time.
"""

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.face.footage import GAP_S, START
from edge.face import facestack
from edge.face.gallery import Person
from edge.face.match import Recogniser
from edge.face.models import DEFAULT_MODEL, model
from edge.face.pipeline import Frame, Observation, finish, process_frame, whole_face
from edge.face.runner import build_stages
from edge.face.visits import Visits
from firmware_config.devices.camera import CameraConfig


def rss_mib() -> float:
    """Resident memory now (VmRSS), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Costs:
    """CPU seconds per stage and how often each ran."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.process_time() - started
                self.calls[name] = self.calls.get(name, 0) + 1

        return timed

    def per_call_ms(self, name: str) -> float:
        return 1000 * self.seconds.get(name, 0.0) / max(1, self.calls.get(name, 0))


Result = tuple[list[tuple[str, float]], int, Costs]


def naive(frames: Iterable[Frame], people: list[Person], min_face: int) -> Result:
    """face_recognition as its documentation uses it: HOG detection with one upsampling pass on every whole frame,
    every face encoded by dlib (`people` must be enrolled with dlib) and matched alone."""
    dlib = model("dlib")
    recogniser, visits, found, encodings, costs = Recogniser(people, face_model=dlib), Visits(GAP_S), [], 0, Costs()
    locate, encode = costs.wrap("detect", facestack.locate), costs.wrap("encode", dlib.encode)
    for frame in frames:
        rgb = np.ascontiguousarray(cv2.cvtColor(frame.image, cv2.COLOR_BGR2RGB))
        boxes = [b for b in locate(rgb, 1) if whole_face(b, rgb.shape) and b[2] - b[0] >= min_face]
        for encoding in encode(rgb, boxes):
            encodings += 1
            who = recogniser.known(encoding) or recogniser.unknown([encoding], "2026-11")
            if visits.seen(who.person, frame.t):
                found.append((who.person, frame.t))
    return found, encodings, costs


def pipeline(frames: Iterable[Frame], people: list[Person], config: CameraConfig) -> Result:
    """The camera's pipeline with its defaults (`people` enrolled with the default face model)."""
    stages = build_stages(config, None)
    stages.recogniser.set_people(people, model(DEFAULT_MODEL))
    costs = Costs()
    stages.gate.moving = costs.wrap("gate", stages.gate.moving)  # type: ignore[method-assign]
    stages.detector.detect = costs.wrap("detect", stages.detector.detect)  # type: ignore[method-assign]
    stages.detector.follow = costs.wrap("follow", stages.detector.follow)  # type: ignore[method-assign]
    import edge.face.pipeline as stage_module

    real_encode = getattr(stage_module, "encode_faces")  # noqa: B009 (patched for the stage's cost)
    setattr(stage_module, "encode_faces", costs.wrap("encode", real_encode))  # noqa: B010
    observations: list[Observation] = []
    last = START
    try:
        for frame in frames:
            observations += process_frame(frame, stages)
            last = frame.ts
        observations += finish(stages, last)
    finally:
        setattr(stage_module, "encode_faces", real_encode)  # noqa: B010
    found = [(o.identity.person, (o.ts - START).total_seconds()) for o in observations]
    return found, stages.stats.encodings, costs


@dataclass
class Run:
    name: str
    wall_s: float
    cpu_s: float
    observations: list[tuple[str, float]]
    encodings: int
    costs: Costs


def timed(name: str, fn: Callable[[], Result]) -> Run:
    print(f"{name}: running...", file=sys.stderr, flush=True)
    wall, cpu = time.perf_counter(), time.process_time()
    observations, encodings, costs = fn()
    return Run(name, time.perf_counter() - wall, time.process_time() - cpu, observations, encodings, costs)
