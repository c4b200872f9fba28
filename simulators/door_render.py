"""Drawing the door scene: the entrance behind everyone, and each person cut out of a real photograph, scaled,
turned, blurred by their motion and pasted in.

Every face is a real photograph (`tests/data/faces/`), cut out with a soft mask and scaled so that its dlib face box
has the wanted height. Nothing here draws at random: the scene passes in every choice it made from its seed.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[Any]
CUTOUT_FACE_PX = 220  # cut-outs are kept at this face height and scaled down per frame
DOOR_FRAME_BGR = (35, 45, 55)


@dataclass(frozen=True, slots=True)
class Cutout:
    """A head and shoulders from a photo: BGR pixels, a soft mask, and where the face box sits in it."""

    bgr: Image  # float32
    alpha: Image  # float32, 0..1
    face_h: float
    face_w: float
    face_cx: float
    face_cy: float


@cache
def cutout(photo: Path) -> Cutout:
    """The largest face of `photo` with head and shoulders, at `CUTOUT_FACE_PX` face height."""
    from edge.face import facestack  # dlib only when footage is made

    bgr = cv2.imread(str(photo), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{photo}: not a readable image")
    scale = min(1.0, 800 / max(bgr.shape[:2]))
    small = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else bgr
    boxes = facestack.locate(np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)), upsample=1)
    if not boxes:
        raise ValueError(f"{photo}: no face")
    top, right, bottom, left = (v / scale for v in max(boxes, key=lambda b: (b[2] - b[0]) * (b[1] - b[3])))
    h, w = bottom - top, right - left
    cx, cy = (left + right) / 2, (top + bottom) / 2
    # Head and shoulders around the box (dlib's box runs from the brows to the chin).
    x0, x1, y0, y1 = cx - 1.6 * w, cx + 1.6 * w, top - 0.9 * h, bottom + 1.4 * h
    k = CUTOUT_FACE_PX / h
    matrix = np.array([[k, 0, -x0 * k], [0, k, -y0 * k]], dtype=np.float32)
    size = (round((x1 - x0) * k), round((y1 - y0) * k))
    crop = cv2.warpAffine(bgr, matrix, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    fh, fw, fcx, fcy = h * k, w * k, (cx - x0) * k, (cy - y0) * k
    mask = np.zeros(crop.shape[:2], np.float32)
    cv2.ellipse(mask, (round(fcx), round(fcy - 0.12 * fh)), (round(0.8 * fw), round(1.08 * fh)), 0, 0, 360, 1.0, -1)
    cv2.ellipse(mask, (round(fcx), round(fcy + 0.75 * fh)), (round(0.42 * fw), round(0.6 * fh)), 0, 0, 360, 1.0, -1)
    cv2.ellipse(mask, (round(fcx), round(fcy + 2.05 * fh)), (round(1.55 * fw), round(0.75 * fh)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.06 * fh)
    return Cutout(crop.astype(np.float32), mask, fh, fw, fcx, fcy)


def background(size: tuple[int, int], seed: int) -> Image:
    """A station's entrance seen from above the door: floor, a far wall with the doorway, a notice board."""
    width, height = size
    rng = np.random.default_rng(seed)
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    wall = np.where(ys < 0.55, 150 + 30 * ys, 110 - 20 * (ys - 0.55)).astype(np.float32)
    grey = np.repeat(wall, width, axis=1)
    grey = grey + np.asarray(cv2.GaussianBlur(rng.normal(0, 10, (height, width)).astype(np.float32), (0, 0), 2.5))
    scene = cv2.merge([grey * 0.92, grey, grey * 1.04])
    door = (round(width * 0.3), round(height * 0.05), round(width * 0.62), round(height * 0.62))
    cv2.rectangle(scene, door[:2], door[2:], (70, 85, 95), -1)  # the open doorway, darker
    cv2.rectangle(scene, door[:2], door[2:], (40, 50, 60), 6)
    cv2.rectangle(scene, (round(width * 0.72), round(height * 0.12)), (round(width * 0.92), round(height * 0.4)),
                  (60, 120, 170), -1)  # a notice board
    for i in range(6):
        y = round(height * (0.15 + i * 0.04))
        cv2.line(scene, (round(width * 0.74), y), (round(width * 0.9), y), (230, 230, 230), 2)
    return np.clip(scene, 0, 255).astype(np.float32)


def motion_blur(layer: Image, dx: float, dy: float) -> Image:
    """Blur along the motion: what a camera's exposure does to someone walking (a box blur as long as the distance
    moved in x and in y: separable, so cheap, and close to a blur along the line for the mostly vertical walk)."""
    kx, ky = max(1, round(abs(dx))), max(1, round(abs(dy)))
    if kx == 1 and ky == 1:
        return layer
    blurred: Image = cv2.blur(layer, (kx, ky))
    return blurred


def person_layer(cut: Cutout, face_px: float, yaw: float, roll: float, back: bool, shirt: tuple[float, ...]
                 ) -> tuple[Image, Image, float, float]:
    """A person's head, shoulders and torso scaled so the face box is `face_px` tall: (bgr, alpha, face cx, cy)."""
    k = face_px / cut.face_h
    squeeze = 1.0 - 0.15 * yaw  # a slightly turned head shows a narrower face
    width, height = max(8, round(cut.bgr.shape[1] * k)), max(8, round(cut.bgr.shape[0] * k))
    head = cv2.resize(cut.bgr, (max(4, round(width * squeeze)), height), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(cut.alpha, (head.shape[1], height), interpolation=cv2.INTER_AREA)
    pad = (width - head.shape[1]) // 2
    head = cv2.copyMakeBorder(head, 0, 0, pad, width - head.shape[1] - pad, cv2.BORDER_REPLICATE)
    alpha = cv2.copyMakeBorder(alpha, 0, 0, pad, width - alpha.shape[1] - pad, cv2.BORDER_CONSTANT, value=0)
    fcx, fcy = cut.face_cx * k, cut.face_cy * k
    # A torso under the photo's shoulders, in the person's clothes.
    extra = round(2.2 * face_px)
    head = np.concatenate([head, np.repeat(head[-1:], extra, axis=0)], axis=0)
    alpha = np.concatenate([alpha, np.zeros((extra, width), np.float32)], axis=0)
    shape: Image = np.zeros(alpha.shape, np.float32)
    cv2.ellipse(shape, (round(fcx), round(fcy + 3.3 * face_px)), (round(1.6 * face_px), round(1.7 * face_px)),
                0, 0, 360, 1.0, -1)
    torso: Image = cv2.GaussianBlur(shape, (0, 0), max(0.5, 0.05 * face_px))
    if back:
        # Walking out, back to the camera: hair where the head was, no face.
        head = np.full_like(head, 60.0 if shirt[0] > 90 else 200.0)
    a = alpha[..., None]
    bgr = head * a + np.asarray(shirt, np.float32) * (1 - a)
    alpha = np.maximum(alpha, torso)
    if abs(roll) > 0.5:
        rotation = cv2.getRotationMatrix2D((fcx, fcy), roll, 1.0)
        bgr = cv2.warpAffine(np.asarray(bgr, dtype=np.float32), rotation, (width, bgr.shape[0]),
                             borderMode=cv2.BORDER_REPLICATE)
        alpha = cv2.warpAffine(alpha, rotation, (width, alpha.shape[0]))
    return bgr, alpha, fcx, fcy


def paste(frame: Image, bgr: Image, alpha: Image, x: int, y: int) -> None:
    """Blend a layer into `frame` (in place) with its top-left corner at (x, y); what falls outside is cut off."""
    h, w = alpha.shape
    fx0, fy0 = max(0, x), max(0, y)
    fx1, fy1 = min(frame.shape[1], x + w), min(frame.shape[0], y + h)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    a = alpha[fy0 - y : fy1 - y, fx0 - x : fx1 - x, None]
    frame[fy0:fy1, fx0:fx1] = frame[fy0:fy1, fx0:fx1] * (1 - a) + bgr[fy0 - y : fy1 - y, fx0 - x : fx1 - x] * a


def door_frame(frame: Image, x0: int, x1: int, y0: int, y1: int) -> None:
    """A jamb of the door frame, columns x0 to x1 and rows y0 to y1, drawn over what is already in `frame` (in place):
    the scene draws it after the people in the doorway and before those nearer the camera."""
    frame[y0:y1, x0:x1] = np.array(DOOR_FRAME_BGR, dtype=np.float32)
