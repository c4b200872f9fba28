"""Record once, replay many: how each way of deciding who a track is scores on the door footage.

Running the pipeline over a minute of footage costs minutes (rendering, detection, ~100 ms per encoding); deciding
who a track is, given its encodings, costs microseconds. So `record` runs the camera's own gate, detector and tracker
over `simulators.door_scene` footage once, encodes every whole face of `min_face_px` or more on every searched frame
(more than the pipeline ever encodes) with every face model (`edge.face.models`), and stores each track's encodings
with the face's height, its sharpness and the truth (whose face it was). `replay` then picks, per track, the
encodings the pipeline's schedule would have taken (every 0.2 s or when 20 % bigger, up to `encode_attempts`),
applies each decision rule (of one face model) after each encoding as the pipeline does, and scores the visits:
found, given to the wrong enrolled person, and "lookalike" wrong matches (each enrolled person in turn treated as
never enrolled: their tracks must then match nobody; this is the test of a stranger who looks like an elder, which
the footage's one unenrolled visitor alone tests too rarely).

The recordings hold face encodings: they are written where you say (default under /tmp), never into the repository.

Usage: python -m simulators.face_decisions record --seeds 1,2,3,4 [--out /tmp/face_decisions]
       python -m simulators.face_decisions replay --sets 1,2,3,4 5,6,7,8 [--model sface|dlib] [--enrol-variants]
(the first set is the one rules were tuned on; the others are held out.) `--enrol-variants` also enrols each photo
dimmed to half the light and blurred as by someone walking towards the camera (an experiment: see docs/face.md).
"""

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.face import facestack
from edge.face.detect import Detector, encode_faces
from edge.face.models import DEFAULT_MODEL, MODEL_NAMES, FaceModel, model
from edge.face.motion import MotionGate
from edge.face.pipeline import whole_face
from edge.face.track import Tracker
from firmware_config.devices.camera import CameraConfig
from simulators.door_scene import ENROL, FACES, DoorScene

Array = npt.NDArray[np.float64]
SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class View:
    """One encoded face of a track."""

    t: float
    height: int
    sharpness: float
    encoding: Array
    who: str  # whose face it was ("" for none)


@dataclass(frozen=True, slots=True)
class TrackRecord:
    who: str  # the visitor's name, "" when the face matched no visit
    visit: int  # index into the footage's visits, -1 for none
    views: list[View]


def record(seed: int) -> dict[str, Any]:
    """Every track of the footage with all its encodings, and the footage's visits."""
    config = CameraConfig(type="camera", id="door", source="-", gallery=Path("."))
    gate = MotionGate(config.motion_width, config.motion_pixel_delta, config.motion_threshold, config.look_every_s)
    detector, tracker = Detector(config.detect_scale, config.upsample), Tracker(config.track_max_age_s)
    scene = DoorScene(seed=seed, duration_s=SECONDS)
    rows: list[dict[str, Any]] = []
    for index, image in enumerate(scene.frames()):
        t = index / scene.fps
        tracker.expire(t)
        if not gate.moving(image, t):
            continue
        tracks = tracker.update(detector.detect(image, gate.last_regions), t)
        todo = [
            tr
            for tr in tracks
            if (tr.hits >= 2 or gate.last_forced)
            and tr.box[2] - tr.box[0] >= config.min_face_px
            and whole_face(tr.box, image.shape)
        ]
        if not todo:
            continue
        rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        boxes = [tr.box for tr in todo]
        by_model = {name: encode_faces(image, boxes, model(name)) for name in MODEL_NAMES}
        for n, track in enumerate(todo):
            top, right, bottom, left = track.box
            cx, cy, height = (left + right) / 2, (top + bottom) / 2, bottom - top
            best, visit = 0.6, -1  # the visit whose face centre lies within 0.6 face of the box's
            for i, v in enumerate(scene.visits):
                where = scene._where(i, v, t)
                if where is not None and not where[3]:
                    step = ((where[0] - cx) ** 2 + (where[1] - cy) ** 2) ** 0.5 / height
                    if step < best:
                        best, visit = step, i
            rows.append({"track": track.id, "t": t, "height": height, "visit": visit,
                         "sharpness": facestack.sharpness(rgb, track.box),
                         "encodings": {name: [float(x) for x in e[n]] for name, e in by_model.items()}})
    visits = [{"who": v.who, "photo": v.photo, "smallest_px": v.smallest_px, "face_px": v.face_px}
              for v in scene.visits]
    return {"seed": seed, "seconds": SECONDS, "visits": visits, "rows": rows}


def load(path: Path, name: str) -> tuple[list[dict[str, Any]], list[TrackRecord]]:
    """The footage's visits and tracks, with the encodings of face model `name`."""
    data = json.loads(path.read_text())
    by_track: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in data["rows"]:
        by_track[row["track"]].append(row)
    tracks = []
    for rows in by_track.values():
        votes = [r["visit"] for r in rows if r["visit"] >= 0]
        visit = max(set(votes), key=votes.count) if votes else -1
        who = data["visits"][visit]["who"] if visit >= 0 else ""
        # Recordings made before there were several models hold dlib's encodings only.
        views = [View(r["t"], r["height"], r["sharpness"], np.asarray(r["encodings"][name] if "encodings" in r
                                                                       else r["encoding"]), who) for r in rows]
        tracks.append(TrackRecord(who, visit, views))
    return data["visits"], tracks


@dataclass(frozen=True, slots=True)
class Rule:
    """How a track is decided: aggregate its encodings, then accept the nearest enrolled person within `tolerance`,
    or within `loose` when the next-nearest other person is at least `margin` farther."""

    label: str
    tolerance: float = 0.5
    loose: float = 0.0
    margin: float = 1.0
    attempts: int = 5
    weight: Callable[[View], float] | None = None  # None: the plain mean
    top: int = 0  # >0: the mean of the `top` largest faces only
    nearest: int = 1  # a person's distance: the mean of their `nearest` closest enrolment encodings


def schedule(views: Sequence[View], attempts: int, retry_s: float = 0.2) -> list[View]:
    """The views the pipeline encodes: after `retry_s`, or sooner when 20 % bigger, up to `attempts`."""
    taken: list[View] = []
    largest, last = 0, float("-inf")
    for view in views:
        if len(taken) >= attempts:
            break
        if view.height >= 1.2 * largest or view.t - last >= retry_s - 1e-6:
            taken.append(view)
            largest, last = max(largest, view.height), view.t
    return taken


def aggregate(views: Sequence[View], rule: Rule, face_model: FaceModel) -> Array:
    chosen = sorted(views, key=lambda v: -v.height)[: rule.top] if rule.top else list(views)
    weights = np.asarray([rule.weight(v) if rule.weight else 1.0 for v in chosen])
    vectors = np.asarray([v.encoding for v in chosen])
    mean: Array = (vectors * weights[:, None]).sum(axis=0) / weights.sum()
    return mean / np.linalg.norm(mean) if face_model.unit else mean


def decide(views: Sequence[View], gallery: dict[str, Array], rule: Rule, face_model: FaceModel,
           others: list[float] | None = None) -> str | None:
    """The enrolled person the track is named as, or None (an anonymous visitor). `others` collects, at every
    decision step, the distance to the nearest enrolled person the track's face is not (the safety margin)."""
    taken = schedule(views, rule.attempts)
    who = views[0].who if views else ""
    for n in range(1, len(taken) + 1):
        probe = aggregate(taken[:n], rule, face_model)
        distances = sorted(
            (float(np.sort(np.linalg.norm(enc - probe, axis=1))[: rule.nearest].mean()), name)
            for name, enc in gallery.items()
        )
        if others is not None:
            others.append(min(d for d, name in distances if name != who))
        best, name = distances[0]
        second = distances[1][0] if len(distances) > 1 else float("inf")
        if best <= rule.tolerance or (best <= rule.loose and second - best >= rule.margin):
            return name
    return None


@dataclass
class Result:
    visits: int = 0
    found: int = 0
    wrong: int = 0
    lookalike: int = 0
    closest_other: float = float("inf")  # nearest any decision came to an enrolled person the face is not


def evaluate(footage: list[tuple[list[dict[str, Any]], list[TrackRecord]]], gallery: dict[str, Array],
             rule: Rule, face_model: FaceModel) -> Result:
    result = Result()
    for visits, tracks in footage:
        named: dict[int, list[str | None]] = defaultdict(list)
        for track in tracks:
            others: list[float] = []
            name = decide(track.views, gallery, rule, face_model, others if track.who else None)
            result.closest_other = min([result.closest_other, *others])
            named[track.visit].append(name)
            if name is not None and name != track.who:
                result.wrong += 1
            if track.who in gallery:  # the same person, never enrolled: must match nobody
                without = {k: v for k, v in gallery.items() if k != track.who}
                result.lookalike += decide(track.views, without, rule, face_model) is not None
        for i, visit in enumerate(visits):
            result.visits += 1
            names = named.get(i, [])
            if visit["who"] in gallery:
                result.found += visit["who"] in names
            else:
                result.found += bool(names) and all(n is None for n in names)
    return result


RULES: dict[str, tuple[Rule, ...]] = {}
RULES["sface"] = (
    Rule("mean of up to 5 encodings, tolerance 1.05 (the default)", tolerance=1.05),
    Rule("the same, tolerance 1.0", tolerance=1.0),
    Rule("the same, tolerance 1.1", tolerance=1.1),
    Rule("the same, tolerance 1.128 (OpenCV's reference: cosine 0.363)", tolerance=1.128),
    Rule("up to 3 encodings per track", tolerance=1.05, attempts=3),
    Rule("one encoding per track", tolerance=1.05, attempts=1),
)
RULES["dlib"] = (
    Rule("mean of up to 5 encodings, tolerance 0.5 (the default)"),
    Rule("the same, tolerance 0.55", tolerance=0.55),
    Rule("mean weighted by face height", weight=lambda v: float(v.height)),
    Rule("mean weighted by sharpness", weight=lambda v: v.sharpness),
    Rule("mean of the 3 largest faces", top=3),
    Rule("up to 8 encodings per track", attempts=8),
    Rule("a person's distance: the mean of their 2 nearest encodings, tolerance 0.52", tolerance=0.52, nearest=2),
    Rule("margin: <= 0.5, or <= 0.53 and the next person >= 0.10 farther", loose=0.53, margin=0.10),
    Rule("margin: <= 0.5, or <= 0.55 and the next person >= 0.08 farther", loose=0.55, margin=0.08),
    Rule("margin: <= 0.5, or <= 0.57 and the next person >= 0.10 farther", loose=0.57, margin=0.10),
)


def variants(path: Path, face_model: FaceModel) -> list[Array]:
    """The experiment: the enrolment photo at the camera's face sizes, dimmed to half the light, and blurred along
    the vertical by a twentieth of the face's height (someone walking towards the camera), each as streamed."""
    rgb, box = facestack.enrolment_face(path)
    height, out = box[2] - box[0], []
    for px in facestack.CAMERA_FACE_PX:
        if height > 1.3 * px:
            k = px / height
            small_box: facestack.Box = (round(box[0] * k), round(box[1] * k), round(box[2] * k), round(box[3] * k))
            shrunk = np.ascontiguousarray(cv2.resize(rgb, None, fx=k, fy=k, interpolation=cv2.INTER_AREA))
            dim = np.clip(shrunk.astype(np.float32) * 0.5, 0, 255).astype(np.uint8)
            walking = np.ascontiguousarray(cv2.blur(shrunk, (1, max(2, round(px / 20)))))
            for image, seed in ((dim, px + 1), (walking, px + 2)):
                out += face_model.encode(facestack.as_streamed(image, 0.0, seed=seed), [small_box])
    return out


def gallery(extra: bool, face_model: FaceModel) -> dict[str, Array]:
    """The footage's enrolled people, enrolled as `eldercare edge enrol` does (and with `variants` when `extra`)."""
    def encodings(photo: Path) -> list[Array]:
        return facestack.enrolment_encodings(photo, face_model.encode) + (
            variants(photo, face_model) if extra else []
        )

    return {name: np.asarray([e for p in photos for e in encodings(FACES / f"{p}.jpg")])
            for name, photos in ENROL.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("record", "replay"))
    parser.add_argument("--seeds", default="1,2,3,4,5,6,7,8")
    parser.add_argument("--sets", nargs="+", default=["1,2,3,4", "5,6,7,8"], help="seeds; the first set is tuned on")
    parser.add_argument("--enrol-variants", action="store_true")
    parser.add_argument("--model", choices=MODEL_NAMES, default=DEFAULT_MODEL, help="the face model to replay")
    parser.add_argument("--out", type=Path, default=Path("/tmp/face_decisions"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True, mode=0o700)
    if args.command == "record":
        for seed in (int(s) for s in args.seeds.split(",")):
            started = time.monotonic()
            data = record(seed)
            (args.out / f"seed{seed}.json").write_text(json.dumps(data))
            print(f"seed {seed}: {len(data['visits'])} visits, {len(data['rows'])} encodings, "
                  f"{time.monotonic() - started:.0f} s", flush=True)
        return
    face_model = model(args.model)
    people = gallery(args.enrol_variants, face_model)
    sets = [[load(args.out / f"seed{s}.json", face_model.name) for s in seeds.split(",")] for seeds in args.sets]
    heads = [f"{'tuned' if i == 0 else 'held out'}: seeds {seeds}" for i, seeds in enumerate(args.sets)]
    print("cells: visits found, given to the wrong person, lookalikes named, closest other person")
    print(f"| rule | {' | '.join(heads)} |")
    print("| --- |" + " --- |" * len(heads))
    for rule in RULES[face_model.name]:
        cells = []
        for footage in sets:
            r = evaluate(footage, people, rule, face_model)
            cells.append(f"{r.found}/{r.visits} ({100 * r.found / r.visits:.0f} %), {r.wrong}, {r.lookalike}, "
                         f"{r.closest_other:.3f}")
        print(f"| {rule.label} | {' | '.join(cells)} |", flush=True)


if __name__ == "__main__":
    main()
