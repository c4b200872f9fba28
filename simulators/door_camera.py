"""What the camera does to the door scene: changing light, sensor noise, and a compressed stream's blockiness.

The scene draws every random choice up front from its seed (`noise_bank`, the light switch times); these functions
then apply them to each frame in a fixed order, so the same seed gives the same frames.
"""

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[Any]
NOISE_FRAMES = 12  # the bank of noise frames picked from per frame


def light_gain(dark: Sequence[float], t: float) -> float:
    """The scene's brightness at `t`: lights off between the two switch times `dark` (0.55), a slow drift on top
    (clouds, the door)."""
    lights = 0.55 if dark[0] <= t <= dark[1] else 1.0
    return lights * (1.0 + 0.15 * math.sin(2 * math.pi * t / 37.0))


def noise_bank(rng: np.random.Generator, size: tuple[int, int], sigma: float) -> list[Image]:
    """Sensor noise frames to pick from per frame: realistic enough and cheap to render."""
    width, height = size
    return [rng.normal(0, sigma, (height, width, 1)).astype(np.float32) for _ in range(NOISE_FRAMES)]


def expose(frame: Image, gain: float, noise: Image) -> Image:
    """The float scene under light `gain` with sensor noise, as 8-bit pixels (`frame` is changed in place)."""
    frame *= gain
    frame += noise * (1 / math.sqrt(gain))  # a darker scene is amplified more, noise with it
    return np.clip(frame, 0, 255).astype(np.uint8)


def stream(image: Image, jpeg_quality: int) -> Image:
    """`image` as an RTSP sub-stream delivers it: JPEG-compressed at `jpeg_quality` and decoded again."""
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert ok and decoded is not None
    return decoded
