"""Runs the face pipeline on a source: synchronously for `camera-test`, in a worker thread for the camera driver.

The frame loop never publishes: each observation and health report is handed to a callback that, for the driver,
puts a `Reading` on an asyncio queue; the driver's `run` moves them into the agent's outbox through `emit`.
"""

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from edge.drivers.base import Emit, Reading, health
from edge.face.capture import frames, redact
from edge.face.detect import Detector, FaceDetector
from edge.face.facestack import FaceStackError
from edge.face.gallery import Gallery, GalleryError, passphrase_from_env
from edge.face.match import Recogniser
from edge.face.models import DEFAULT_MODEL, load, model
from edge.face.motion import MotionGate
from edge.face.pipeline import (
    Observation,
    Stages,
    Stats,
    drop_forgotten,
    finish,
    model_changed,
    month_of,
    process_frame,
)
from edge.face.settings import CameraSettings
from edge.face.track import Tracker
from edge.face.visits import Visits
from station_protocol import Kind

log = logging.getLogger(__name__)


def face_detector(config: CameraSettings) -> FaceDetector:
    """The camera's detector: dlib's HOG at its scale and upsampling, with OpenCV's YuNet beside it when asked."""
    hog = Detector(config.detect_scale, config.upsample)
    if config.detector == "hog+yunet":
        from edge.face.union import UnionDetector  # loads and checks YuNet's model file
        from edge.face.yunet import YuNetDetector

        return UnionDetector(hog, YuNetDetector())
    return hog


def build_stages(
    config: CameraSettings,
    gallery: Gallery | None,
    *,
    remember_unknowns: bool = True,
    open_visits: Mapping[str, float] | None = None,
) -> Stages:
    """The stages for one camera, with its enrolled people, (when remembered) this month's unknowns, and the visits
    still open when the agent last stopped (`VisitBook`)."""
    people, name = gallery.enrolled() if gallery else ([], None)
    try:
        face_model = model(name or DEFAULT_MODEL)
    except ValueError as exc:  # a gallery written by a newer version
        raise GalleryError(f"{config.gallery}: {exc}; upgrade the agent") from None
    load(face_model)
    recogniser = Recogniser(
        people,
        config.tolerance,
        load_unknowns=gallery.unknowns if gallery else None,
        save_unknowns=gallery.save_unknowns if gallery and remember_unknowns else None,
        face_model=face_model,
    )
    return Stages(
        gate=MotionGate(config.motion_width, config.motion_pixel_delta, config.motion_threshold, config.look_every_s),
        detector=face_detector(config),
        tracker=Tracker(config.track_max_age_s),
        recogniser=recogniser,
        visits=Visits(config.visit_gap_s, open_visits),
        attempts=config.encode_attempts,
        min_face_px=config.min_face_px,
    )


class VisitBook:
    """A camera's open visits, kept in its gallery so that someone already inside when the agent restarts (an update,
    a power cut) is not counted again. Kept when a visit starts, at every health reading (the last sightings of those
    still inside move on) and when the camera stops. Losing them costs at most one person-time per person inside, so
    a book that cannot be read or written is logged, never the end of the camera."""

    def __init__(
        self, gallery: Gallery, camera: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.gallery, self.camera, self.clock = gallery, camera, clock
        self._kept: dict[str, float] = {}

    def load(self) -> dict[str, float]:
        """The visits kept by the camera's last run (empty when none, or when they cannot be read)."""
        try:
            self._kept = self.gallery.visit_book(self.camera)
        except (GalleryError, OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("camera %s: its open visits cannot be read (%s); starting without them", self.camera, exc)
            self._kept = {}
        return dict(self._kept)

    def keep(self, visits: Visits) -> None:
        """Write the visits open now, when they differ from what was last written."""
        book = visits.open_at(self.clock().timestamp())
        if book == self._kept:
            return
        try:
            self.gallery.save_visit_book(self.camera, book)
        except (GalleryError, OSError) as exc:
            log.warning("camera %s: its open visits cannot be kept (%s)", self.camera, exc)
            return
        self._kept = book


class GalleryWatch:
    """Reloads the enrolled people when `enrol` or `forget` rewrote the gallery, checked at most every `every_s`
    seconds: a forgotten person stops being recognised by the running camera within that time, without a restart."""

    def __init__(
        self, gallery: Gallery, stages: Stages, every_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.gallery, self.stages, self.every_s, self.clock = gallery, stages, every_s, clock
        self._version = gallery.version()
        self._next = clock() + every_s

    def __call__(self) -> bool:
        """Check now if it is time; True when the gallery was reloaded."""
        now = self.clock()
        if now < self._next:
            return False
        self._next = now + self.every_s
        version = self.gallery.version()
        if version == self._version:
            return False
        try:
            people, name = self.gallery.enrolled()
            face_model = model(name or DEFAULT_MODEL)
            load(face_model)
        except (GalleryError, ValueError, FaceStackError) as exc:
            # Keep matching with what was loaded; the next check tries again.
            log.warning("face gallery changed but cannot be read: %s", exc)
            return False
        self._version = version
        before, changed = self.stages.recogniser.enrolled, face_model != self.stages.recogniser.model
        self.stages.recogniser.set_people(people, face_model)
        forgotten = before - self.stages.recogniser.enrolled
        reset = drop_forgotten(self.stages, forgotten) + (model_changed(self.stages) if changed else 0)
        log.info(
            "face gallery reloaded: %d enrolled, %d forgotten, %d track(s) re-identified",
            len(people), len(forgotten), reset,
        )
        return True


def run_source(
    config: CameraSettings,
    stages: Stages,
    *,
    on_observation: Callable[[Observation], None],
    report: Callable[[bool, str | None], None],
    tick: Callable[[Stats], None] | None = None,
    stop: threading.Event | None = None,
    entries: threading.Event | None = None,
    watch: Callable[[], object] | None = None,
) -> Stats:
    """Feed every frame of `config.source` through the stages until it ends or `stop` is set.

    `entries` is set when the station's people counter counted someone in: the gate then stays open
    `config.entry_hold_s` from the next frame, whatever the motion says. `watch` is called before every frame (the
    gallery watch)."""
    last_ts = datetime.now(UTC)
    for frame in frames(config.source, report, max_fps=config.max_fps, reconnect_s=config.reconnect_s, stop=stop):
        if stop is not None and stop.is_set():
            break
        if entries is not None and entries.is_set():
            entries.clear()
            stages.gate.open_until(frame.t + config.entry_hold_s)
        if watch is not None:
            watch()
        try:
            for observation in process_frame(frame, stages):
                on_observation(observation)
        except GalleryError:
            raise
        except Exception:
            # One bad frame (or a transient library error) is counted and logged, never the end of the camera.
            stages.stats.errors += 1
            if stages.stats.errors <= 3 or stages.stats.errors % 100 == 0:  # a broken stream must not flood the log
                log.exception("camera %s: frame at %.2f s failed (%d so far)", config.id, frame.t, stages.stats.errors)
        last_ts = frame.ts
        if tick:
            tick(stages.stats)
    for observation in finish(stages, last_ts):
        on_observation(observation)
    return stages.stats


def face_reading(device: str, observation: Observation) -> Reading:
    """The `face` reading of an observation: an id, a role and a distance, nothing else."""
    who = observation.identity
    fields = {"person": who.person, "role": who.role, "distance": who.distance}
    return Reading(device=device, kind=Kind.FACE, ts=observation.ts, fields=fields)


def _work(config: CameraSettings, put: Callable[[Reading], None], stop: threading.Event,
          entries: threading.Event | None = None) -> None:
    """The worker thread: the whole frame loop, handing readings to `put`."""
    state: dict[str, Any] = {"ok": None, "error": None}
    stats = Stats()
    stages: Stages | None = None
    source = redact(config.source)
    started = time.monotonic()
    next_health = started + config.health_interval_s

    def detail(current: Stats) -> dict[str, Any]:
        elapsed = max(time.monotonic() - started, 1e-9)
        return {"source": source, **current.as_dict(), "fps": round(current.frames / elapsed, 2)}

    def purge() -> None:
        # Unknown visitors never outlive their month, even while the stream is down or the doorway empty.
        if stages is not None:
            stages.recogniser.set_month(month_of(datetime.now(UTC)))

    def report(ok: bool, error: str | None) -> None:
        # Health on every change of state; the periodic tick repeats it.
        purge()
        if ok != state["ok"]:
            put(health(config.id, ok, error, detail(stats)))
        state.update(ok=ok, error=error)

    def tick(current: Stats) -> None:
        nonlocal next_health
        if time.monotonic() >= next_health:
            next_health = time.monotonic() + config.health_interval_s
            purge()
            put(health(config.id, bool(state["ok"]), state["error"], detail(current)))
            if stages is not None:
                book.keep(stages.visits)

    def observed(observation: Observation) -> None:
        put(face_reading(config.id, observation))
        if stages is not None:
            book.keep(stages.visits)

    try:
        gallery = Gallery(config.gallery, passphrase_from_env())
        gallery.check_key()
        book = VisitBook(gallery, config.id)
        stages = build_stages(config, gallery, open_visits=book.load())
        purge()
    except (GalleryError, FaceStackError) as exc:
        put(health(config.id, False, str(exc), {"source": source}))
        raise
    stats = stages.stats
    try:
        run_source(
            config,
            stages,
            on_observation=observed,
            report=report,
            tick=tick,
            stop=stop,
            entries=entries,
            watch=GalleryWatch(gallery, stages, config.gallery_check_s),
        )
    finally:
        book.keep(stages.visits)
    if not stop.is_set():
        put(health(config.id, bool(state["ok"]), state["error"], {**detail(stats), "ended": True}))


async def run_camera(config: CameraSettings, emit: Emit, entries: threading.Event | None = None) -> None:
    """Run the pipeline in a worker thread and move its readings through `emit` until cancelled.

    A file or still image is read once; the driver then idles rather than replaying it.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Reading | None] = asyncio.Queue()
    stop = threading.Event()

    def put(reading: Reading | None) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, reading)

    def work() -> None:
        try:
            _work(config, put, stop, entries)
        finally:
            put(None)

    worker = loop.run_in_executor(None, work)
    try:
        while (reading := await queue.get()) is not None:
            await emit(reading)
        await worker  # re-raises what stopped the worker: the agent restarts the driver
        await asyncio.Event().wait()
    finally:
        stop.set()
        await asyncio.wait([worker])
