"""Record once: every track of a door footage with every encoding of every face model, and reading it back.

`record` runs the camera's own gate, detector and tracker over `simulators.door_scene` footage, encodes every whole
face of `min_face_px` or more on every searched frame (more than the pipeline ever encodes) with every face model,
and keeps each face's height, sharpness and the truth (the visit whose face it was). The recordings hold face
encodings: the caller writes them outside the repository.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edge.face import facestack
from edge.face.detect import Detector, encode_faces
from edge.face.models import MODEL_NAMES, model
from edge.face.motion import MotionGate
from edge.face.pipeline import whole_face
from edge.face.track import Tracker
from firmware_config.devices.camera import CameraConfig
from simulators.door_people import where
from simulators.door_scene import DoorScene

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
                at = where(v, t, scene.size)
                if at is not None and not at[3]:
                    step = ((at[0] - cx) ** 2 + (at[1] - cy) ** 2) ** 0.5 / height
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
