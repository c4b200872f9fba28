"""Frames from a USB camera, an RTSP/HTTP stream, a video file or a still image, with reconnection for live sources.

A source that cannot be read is reported through `report(ok, error)` (the driver turns it into a `health` reading)
and, for a live source, retried with a growing delay; it never raises into the caller.
"""

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import cv2

from edge.face.pipeline import Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
# A dead RTSP server must not block a read for ffmpeg's default 30 s.
STREAM_TIMEOUT_MS = 10_000
MAX_RECONNECT_S = 60.0

Report = Callable[[bool, str | None], None]


class SourceKind(StrEnum):
    USB = "usb"
    STREAM = "stream"
    FILE = "file"
    IMAGE = "image"


# A query parameter that carries a secret, as some cameras take them (`?user=admin&password=…`).
_SECRET_QUERY = re.compile(r"([?&](?:password|passwd|pwd|pass|token|key|auth)=)[^&#]*", re.IGNORECASE)


def redact(source: str) -> str:
    """A source fit for logs and health: without the password an RTSP URL may carry.

    Installers type passwords as they are, unescaped: `rtsp://admin:p@ss/w0rd@10.0.0.5/x` has `@` and `/` in the
    password. Everything up to the *last* `@` after `://` is therefore user information; a path containing `@` is
    over-redacted, which is the safe side."""
    scheme, sep, rest = source.partition("://")
    if not sep:
        return source
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + _SECRET_QUERY.sub(r"\1***", rest)


def source_kind(source: str) -> SourceKind:
    """What `source` names: "0" a USB camera, "rtsp://…" a stream, a path with an image suffix a still image."""
    if source.isdigit():
        return SourceKind.USB
    if "://" in source:
        return SourceKind.STREAM
    if Path(source).suffix.lower() in IMAGE_SUFFIXES:
        return SourceKind.IMAGE
    return SourceKind.FILE


def _open(source: str, kind: SourceKind) -> cv2.VideoCapture:
    # OpenCV would print a warning on every failed reconnect; the health reading already says it, once.
    cv2.setLogLevel(2)  # errors only
    if kind is SourceKind.USB:
        return cv2.VideoCapture(int(source))
    if kind is SourceKind.STREAM:
        timeouts = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            STREAM_TIMEOUT_MS,
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            STREAM_TIMEOUT_MS,
        ]
        return cv2.VideoCapture(source, cv2.CAP_FFMPEG, timeouts)
    return cv2.VideoCapture(source)


def _still(source: str, report: Report) -> Iterator[Frame]:
    image = cv2.imread(source, cv2.IMREAD_COLOR)
    if image is None:
        report(False, f"cannot read image {source}")
        return
    report(True, None)
    yield Frame(image=image, t=0.0, ts=datetime.now(UTC))


def _video_file(source: str, report: Report, max_fps: float) -> Iterator[Frame]:
    # A file's own timeline (frame index / fps) drives tracks and visits, so a recording replays like the live scene.
    capture = _open(source, SourceKind.FILE)
    try:
        if not capture.isOpened():
            report(False, f"cannot open video {source}")
            return
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        started, index, last = datetime.now(UTC), 0, float("-inf")
        while True:
            ok, image = capture.read()
            if not ok:
                break
            t = index / fps
            index += 1
            if index == 1:
                report(True, None)
            if t - last >= 1 / max_fps - 1e-9:
                last = t
                yield Frame(image=image, t=t, ts=started + timedelta(seconds=t))
        if index == 0:
            report(False, f"no frames could be decoded from {redact(source)}")
    finally:
        capture.release()


def _live(
    source: str, kind: SourceKind, report: Report, max_fps: float, reconnect_s: float, stop: threading.Event
) -> Iterator[Frame]:
    delay, last = reconnect_s, float("-inf")
    while not stop.is_set():
        capture = _open(source, kind)
        try:
            if not capture.isOpened():
                report(False, f"cannot open {kind} source {redact(source)}; retrying in {delay:.0f} s")
            else:
                frames = 0
                while not stop.is_set():
                    # grab() every frame to keep up with the stream; retrieve() (the pixel conversion) only those kept.
                    if not capture.grab():
                        break
                    if frames == 0:
                        report(True, None)
                        delay = reconnect_s
                    frames += 1
                    t = time.monotonic()
                    if t - last < 1 / max_fps:
                        continue
                    ok, image = capture.retrieve()
                    if ok:
                        last = t
                        yield Frame(image=image, t=t, ts=datetime.now(UTC))
                if stop.is_set():
                    return
                report(
                    False, f"{kind} source {redact(source)} stopped delivering frames; reconnecting in {delay:.0f} s"
                )
        finally:
            capture.release()
        stop.wait(delay)
        delay = min(delay * 2, MAX_RECONNECT_S)


def frames(
    source: str,
    report: Report,
    *,
    max_fps: float = 10.0,
    reconnect_s: float = 5.0,
    stop: threading.Event | None = None,
) -> Iterator[Frame]:
    """Frames of `source` at most `max_fps` a second; ends with a file or image, runs until `stop` for live ones."""
    kind = source_kind(source)
    if kind in (SourceKind.FILE, SourceKind.IMAGE) and not Path(source).is_file():
        report(False, f"no such file: {source}")
        return
    if kind is SourceKind.IMAGE:
        yield from _still(source, report)
    elif kind is SourceKind.FILE:
        yield from _video_file(source, report, max_fps)
    else:
        yield from _live(source, kind, report, max_fps, reconnect_s, stop or threading.Event())
