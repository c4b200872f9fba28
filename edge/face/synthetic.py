"""Synthetic camera scenes from still photos: people walk in, stand, walk out. For tests, the benchmark and dry runs.

Each visitor is a head-and-shoulders cut-out of a real photo moved over a static, slightly noisy background, so the
motion gate, detector, tracker and matcher all see what a doorway camera would show them.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.face import facestack
from edge.face.facestack import Image


@dataclass(frozen=True, slots=True)
class Appearance:
    """`who` is in view from `enter` to `leave` seconds (walking in and out take `walk_s` of that)."""

    who: str
    sprite: Image
    enter: float
    leave: float
    slot: float = 0.5  # where they stand, as a fraction of the frame width


def head_sprite(photo: Path, height: int = 220) -> Image:
    """The head and shoulders of the one face in `photo`, `height` pixels tall (BGR)."""
    bgr = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{photo}: not a readable image")
    rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    boxes = facestack.locate(rgb, upsample=1)
    if not boxes:
        raise ValueError(f"{photo}: no face")
    top, right, bottom, left = max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3]))
    size = bottom - top
    y0, y1 = max(0, top - size * 6 // 10), min(bgr.shape[0], bottom + size * 6 // 10)
    x0, x1 = max(0, left - size * 6 // 10), min(bgr.shape[1], right + size * 6 // 10)
    crop = bgr[y0:y1, x0:x1]
    width = max(1, round(crop.shape[1] * height / crop.shape[0]))
    sprite: Image = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    return sprite


def background(width: int = 640, height: int = 480, seed: int = 7) -> Image:
    """A static room-like background: a gradient wall with some texture."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(90, 160, height, dtype=np.float32)[:, None]
    wall = np.repeat(ys, width, axis=1)
    texture = cv2.GaussianBlur(rng.normal(0, 12, (height, width)).astype(np.float32), (0, 0), 3)
    grey = np.clip(wall + texture, 0, 255).astype(np.uint8)
    scene: Image = cv2.merge([grey, (grey * 0.95).astype(np.uint8), (grey * 0.9).astype(np.uint8)])
    return scene


def _paste(frame: Image, sprite: Image, cx: float, top: int) -> None:
    h, w = sprite.shape[:2]
    x0 = round(cx - w / 2)
    fx0, fx1 = max(0, x0), min(frame.shape[1], x0 + w)
    if fx1 <= fx0:
        return
    frame[top : top + h, fx0:fx1] = sprite[:, fx0 - x0 : fx1 - x0]


def _centre_x(a: Appearance, t: float, width: int, walk_s: float) -> float:
    half = a.sprite.shape[1] / 2
    outside_left, standing, outside_right = -half, a.slot * width, width + half
    if t < a.enter + walk_s:
        return outside_left + (standing - outside_left) * (t - a.enter) / walk_s
    if t > a.leave - walk_s:
        return standing + (outside_right - standing) * (t - (a.leave - walk_s)) / walk_s
    return standing + 2 * float(np.sin(t * 3))  # a person standing still still sways a little


def render(
    appearances: list[Appearance],
    duration_s: float,
    fps: float = 10,
    size: tuple[int, int] = (640, 480),
    walk_s: float = 1.5,
    noise: float = 2.0,
    seed: int = 11,
) -> Iterator[Image]:
    """The frames of the scene, one every 1/fps seconds."""
    width, height = size
    base = background(width, height)
    rng = np.random.default_rng(seed)
    # Sensor noise from a small bank of noise frames: realistic enough, and cheap to render.
    bank = [rng.normal(0, noise, (height, width, 3)).astype(np.int16) for _ in range(8)] if noise else []
    for index in range(round(duration_s * fps)):
        t = index / fps
        frame = base.copy()
        for a in appearances:
            if a.enter <= t <= a.leave:
                top = max(0, height - a.sprite.shape[0] - 40)
                _paste(frame, a.sprite, _centre_x(a, t, width, walk_s), top)
        if bank:
            frame = np.clip(frame + bank[index % len(bank)], 0, 255).astype(np.uint8)
        yield frame


def write_video(path: Path, frames: Iterator[Image], fps: float = 10, size: tuple[int, int] = (640, 480)) -> int:
    """Write frames to a video file OpenCV can read back (MJPG in AVI); returns the frame count."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise OSError(f"cannot write video {path}")
    count = 0
    try:
        for frame in frames:
            writer.write(frame)
            count += 1
    finally:
        writer.release()
    return count
