"""The camera driver: an unreadable stream is reported through `health` and retried, never fatal; a stream that
comes up later is read; and through the real agent and a real Mosquitto, only ids leave the station."""

import asyncio
import base64
import functools
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from edge.agent import Agent
from edge.drivers.base import Reading
from edge.drivers.camera import CameraDriver
from edge.face import capture, synthetic
from edge.face.facestack import Box, Image
from edge.face.gallery import Gallery, Person, Unknown
from edge.face.models import DEFAULT_MODEL, model
from firmware_config.devices.camera import CameraConfig
from station_protocol import Face, Health, Kind
from tests.edge.conftest import AgentThread, station_config, subscribe
from tests.face.cli import eldercare
from tests.face.conftest import ELDER, PASSPHRASE, Scene, photo
from tests.localservices import Mosquitto, free_port
from tests.wait import poll_async


async def collect(driver: CameraDriver, until: Any) -> tuple[list[Reading], asyncio.Task[None]]:
    """Run the driver until `until(readings)` holds; returns the readings and the (still running) task."""
    readings: list[Reading] = []
    changed = asyncio.Event()

    async def emit(reading: Reading) -> None:
        readings.append(reading)
        changed.set()

    task = asyncio.create_task(driver.run(emit))
    async with asyncio.timeout(30):
        while not until(readings):
            assert not task.done(), f"the driver stopped: {task.exception() if not task.cancelled() else 'cancelled'}"
            await changed.wait()
            changed.clear()
    return readings, task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def health(readings: list[Reading]) -> list[dict[str, Any]]:
    return [dict(r.fields) for r in readings if r.kind is Kind.HEALTH]


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A directory to serve over HTTP later, and the port it will be on."""
    yield tmp_path / "www", free_port()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(directory: Path, port: int) -> ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def settle() -> None:
    """Let readings the worker thread has already handed over reach `emit`: a few turns of the event loop (the
    hand-over is a thread-safe callback, then a queue, then the driver's task), no wall-clock time."""
    for _ in range(10):
        await asyncio.sleep(0)


def test_unreadable_stream_is_reported_and_retried(enrolled: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An installer's password typed as it is, with `@` and `/` in it (not URL-escaped).
    source = f"rtsp://installer:se@cr/et@127.0.0.1:{free_port()}/live"
    config = CameraConfig(type="camera", id="face-1", source=source, gallery=enrolled, reconnect_s=0.1)
    Gallery(enrolled, PASSPHRASE).save_unknowns(
        "2020-01", [Unknown(id="anon-0123456789ab", encodings=[[0.0] * 128])], DEFAULT_MODEL
    )
    attempts = [0]
    real_open = capture._open

    def counted_open(*args: Any) -> Any:
        attempts[0] += 1
        return real_open(*args)

    monkeypatch.setattr(capture, "_open", counted_open)

    async def scenario() -> None:
        readings, task = await collect(CameraDriver(config), lambda rs: len(health(rs)) >= 1)
        # It keeps retrying, and does not repeat the same bad news every attempt: three attempts, each reported
        # (if at all) before the next began.
        await poll_async(lambda: attempts[0] >= 3, 30, "three attempts to open the stream")
        await settle()
        assert not task.done()
        (first,) = health(readings)
        assert first["ok"] is False
        assert first["error"].startswith("cannot open stream source rtsp://***@127.0.0.1:")
        assert "se@cr" not in json.dumps(first) and "cr/et" not in json.dumps(first)
        assert '"rtsp://***@127.0.0.1:' in json.dumps(first)  # the source in the detail, redacted too
        # A past month's unknown visitors are deleted when the camera starts, stream or no stream.
        assert not (enrolled / "unknown-2020-01.enc").exists()
        await stop(task)

    asyncio.run(scenario())


def test_stream_that_comes_up_later_is_read(
    enrolled: Path, sprites: dict[str, Image], http_dir: tuple[Path, int]
) -> None:
    www, port = http_dir
    www.mkdir()
    obama = synthetic.Appearance("obama", sprites["obama_2"], -5.0, 100.0)  # standing there from the start
    synthetic.write_video(www / "cam.avi", synthetic.render([obama], duration_s=1.5, fps=10, walk_s=0.01), fps=10)
    config = CameraConfig(
        type="camera", id="face-1", source=f"http://127.0.0.1:{port}/cam.avi", gallery=enrolled, reconnect_s=0.1
    )

    async def scenario() -> None:
        readings, task = await collect(CameraDriver(config), lambda rs: len(health(rs)) >= 1)
        assert health(readings)[0]["ok"] is False
        server = serve(www, port)
        try:
            readings, _ = await asyncio.wait_for(asyncio.shield(wait_faces(readings, task)), 30)
            faces = [r.fields for r in readings if r.kind is Kind.FACE]
            assert faces[0]["person"] == ELDER and faces[0]["role"] == "elder"
            assert [h["ok"] for h in health(readings)][:2] == [False, True]
            # The short stream ends and is reopened again and again: still the same visit, no second observation.
            opened = sum(h["ok"] is True for h in health(readings))
            await poll_async(lambda: sum(h["ok"] is True for h in health(readings)) >= opened + 2, 30,
                             "two more passes of the stream")
            assert len([r for r in readings if r.kind is Kind.FACE]) == 1
        finally:
            server.shutdown()
            server.server_close()
        await stop(task)

    async def wait_faces(readings: list[Reading], task: asyncio.Task[None]) -> tuple[list[Reading], None]:
        def seen() -> bool:
            assert not task.done()
            return any(r.kind is Kind.FACE for r in readings)

        await poll_async(seen, 30, "a face")
        return readings, None

    asyncio.run(scenario())


def test_forget_reaches_a_running_camera(
    enrolled: Path, sprites: dict[str, Image], http_dir: tuple[Path, int], capsys: pytest.CaptureFixture[str]
) -> None:
    """`eldercare edge forget` while the camera runs: the person standing in view stops being recognised without a
    restart (they become an anonymous visitor), within the gallery check interval. Their track has usually ended by
    then (someone standing still keeps the motion gate shut; here tracks end after 0.2 s): the camera must look again
    rather than wait for its periodic look a minute later."""
    www, port = http_dir
    www.mkdir()
    obama = synthetic.Appearance("obama", sprites["obama_2"], -5.0, 100.0)
    synthetic.write_video(www / "cam.avi", synthetic.render([obama], duration_s=2, fps=10, walk_s=0.01), fps=10)
    config = CameraConfig(
        type="camera", id="face-1", source=f"http://127.0.0.1:{port}/cam.avi", gallery=enrolled, reconnect_s=0.1,
        gallery_check_s=0.5, track_max_age_s=0.2,
    )
    server = serve(www, port)

    def faces(readings: list[Reading]) -> list[dict[str, Any]]:
        return [dict(r.fields) for r in readings if r.kind is Kind.FACE]

    def reopened(readings: list[Reading]) -> int:
        return sum(h["ok"] is True for h in health(readings))  # the short stream ends and is reopened: one per loop

    async def until(readings: list[Reading], task: asyncio.Task[None], done: Any) -> None:
        def reached() -> bool:
            assert not task.done()
            return bool(done())

        await poll_async(reached, 60, "the camera's readings")

    async def scenario() -> None:
        driver = CameraDriver(config)
        readings, task = await collect(driver, lambda rs: len(faces(rs)) >= 1)
        assert faces(readings)[0]["person"] == ELDER
        forgot = eldercare(capsys, "edge", "forget", "--gallery", str(enrolled), "--id", ELDER)
        assert forgot.code == 0, forgot.err
        before = len(faces(readings))
        await until(readings, task, lambda: len(faces(readings)) > before)
        after = faces(readings)[before:]
        assert after[0]["role"] == "unknown" and after[0]["person"].startswith("anon-")
        loops = reopened(readings)
        await until(readings, task, lambda: reopened(readings) >= loops + 2)  # two more passes of the stream
        assert all(f["person"] != ELDER for f in faces(readings)[before:])
        await stop(task)

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        server.shutdown()
        server.server_close()


def test_forget_reaches_someone_standing_still_whose_track_ended(enrolled: Path, sprites: dict[str, Image]) -> None:
    """The same on the camera's own timeline, step by step: someone standing still keeps the motion gate shut, so
    their track ends while their visit goes on; after `forget` the next frame is searched and they are reported as an
    anonymous visitor within seconds, not at the periodic look a minute later."""
    from edge.face.pipeline import Frame, process_frame
    from edge.face.runner import GalleryWatch, build_stages

    obama = synthetic.Appearance("obama", sprites["obama_2"], -5.0, 100.0)
    (still,) = synthetic.render([obama], duration_s=0.1, fps=10, walk_s=0.01)
    config = CameraConfig(type="camera", id="face-1", source="unused", gallery=enrolled, track_max_age_s=1.0)
    gallery = Gallery(enrolled, PASSPHRASE)
    stages = build_stages(config, gallery, remember_unknowns=False)
    clock = [0.0]
    watch = GalleryWatch(gallery, stages, every_s=0.5, clock=lambda: clock[0])
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    seen: list[tuple[str, str, float]] = []

    def run(until: float) -> None:
        while clock[0] < until:
            watch()
            frame = Frame(image=still, t=clock[0], ts=start + timedelta(seconds=clock[0]))
            seen.extend((o.identity.person, o.identity.role, clock[0]) for o in process_frame(frame, stages))
            clock[0] = round(clock[0] + 0.1, 1)

    run(3.0)
    assert [(who, role) for who, role, _ in seen] == [(ELDER, "elder")]
    assert stages.tracker.tracks == []  # nothing moved: the track ended, the visit goes on
    assert Gallery(enrolled, PASSPHRASE).forget(ELDER)
    run(6.0)
    assert [(role, who.startswith("anon-")) for who, role, _ in seen[1:]] == [("unknown", True)]
    assert seen[1][2] <= 3.0 + 0.5 + 1.0 + 0.2  # the next gallery check, a look, the track's end
    assert stages.visits.seen(ELDER, 6.0)  # the forgotten person's visit is closed too


def test_a_dlib_gallery_keeps_working_and_a_switch_to_sface_is_picked_up_running(
    enrolled: Path, sprites: dict[str, Image]
) -> None:
    """A station enrolled before SFace (dlib encodings, no model recorded) is still recognised, with dlib; when its
    people are enrolled afresh with SFace, the running camera switches model at its next gallery check and
    identifies the person in view again, without a restart."""
    from edge.face import facestack
    from edge.face.pipeline import Frame, process_frame
    from edge.face.runner import GalleryWatch, build_stages

    gallery = Gallery(enrolled, PASSPHRASE)
    dlib_encoding = [float(x) for x in facestack.enrolment_encoding(photo("obama_1"), facestack.encode)]
    # As an older version wrote it: no "model" in the file.
    old_file = {"version": 1, "people": [{"id": ELDER, "role": "elder", "encodings": [dlib_encoding]}]}
    gallery._write("people.enc", old_file)
    obama = synthetic.Appearance("obama", sprites["obama_2"], -5.0, 100.0)
    (still,) = synthetic.render([obama], duration_s=0.1, fps=10, walk_s=0.01)
    config = CameraConfig(type="camera", id="face-1", source="unused", gallery=enrolled, track_max_age_s=60)
    stages = build_stages(config, gallery, remember_unknowns=False)
    assert stages.recogniser.model.name == "dlib" and stages.recogniser.tolerance == 0.5
    clock = [0.0]
    watch = GalleryWatch(gallery, stages, every_s=0.5, clock=lambda: clock[0])
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    seen: list[tuple[str, float]] = []

    def run(until: float) -> None:
        while clock[0] < until:
            watch()
            frame = Frame(image=still, t=clock[0], ts=start + timedelta(seconds=clock[0]))
            seen.extend((o.identity.person, o.identity.distance) for o in process_frame(frame, stages))
            clock[0] = round(clock[0] + 0.1, 1)

    run(2.0)
    assert [who for who, _ in seen] == [ELDER]
    assert seen[0][1] <= 0.5
    sface_encoding = [float(x) for x in facestack.enrolment_encoding(photo("obama_1"), model("sface").encode)]
    gallery.enrol(Person(id=ELDER, role="elder", encodings=[sface_encoding]), "sface")
    stages.gate.look_now()  # someone standing still: the next frame is looked at (as after a forget)
    run(4.0)
    assert str(stages.recogniser.model.name) == "sface" and stages.recogniser.tolerance == 1.05
    track = stages.tracker.tracks[0]
    assert track.identity is not None and track.identity.person == ELDER and track.identity.distance > 0.5
    assert len(seen) == 1  # still the same visit: not observed twice


def test_a_gallery_of_a_model_this_version_does_not_know_is_a_clear_error(enrolled: Path) -> None:
    """A gallery enrolled by a newer agent (another face model) is refused at start with the reason, and a running
    camera whose gallery is rewritten so keeps matching with what it loaded."""
    from edge.face.gallery import GalleryError
    from edge.face.runner import GalleryWatch, build_stages

    config = CameraConfig(type="camera", id="face-1", source="unused", gallery=enrolled)
    gallery = Gallery(enrolled, PASSPHRASE)
    stages = build_stages(config, gallery, remember_unknowns=False)
    clock = [0.0]
    watch = GalleryWatch(gallery, stages, every_s=0.5, clock=lambda: clock[0])
    someone = {"id": "x", "role": "elder", "encodings": [[0.0] * 128]}
    newer = {"version": 1, "model": "facenet-2030", "people": [someone]}
    gallery._write("people.enc", newer)
    clock[0] = 1.0
    assert watch() is False and stages.recogniser.enrolled == {ELDER} and stages.recogniser.model.name == "sface"
    with pytest.raises(GalleryError, match=r"unknown face model 'facenet-2030'.*upgrade the agent"):
        build_stages(config, gallery)


BASE64_RUN = re.compile(rb"[A-Za-z0-9+/=_-]{48,}")
HEX_RUN = re.compile(rb"[0-9a-fA-F]{64,}")


def looks_encoded(run: bytes) -> bool:
    """Base64 of binary data mixes cases and digits throughout; a file path or a word does not."""
    upper, lower, digits = (sum(c in group for c in run) for group in (b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                                                      b"abcdefghijklmnopqrstuvwxyz", b"0123456789"))
    return upper >= len(run) // 8 and lower >= len(run) // 8 and digits >= len(run) // 40


def biometric_traces(payload: bytes) -> list[str]:
    """Anything in a payload that could carry an image or an encoding."""
    found = []
    for magic, name in ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG", "PNG"), (b"RIFF", "RIFF"), (b"\x00", "NUL")):
        if magic in payload:
            found.append(f"{name} bytes")
    if any(looks_encoded(m.group()) for m in BASE64_RUN.finditer(payload)):
        found.append("a long base64-like run")
    if HEX_RUN.search(payload):
        found.append("a long hex run")
    if len(payload) > 1024:
        found.append(f"{len(payload)} bytes")

    def walk(value: Any) -> None:
        if isinstance(value, list):
            if sum(isinstance(v, float) for v in value) >= 8:
                found.append("a list of floats")
            for v in value:
                walk(v)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, str) and len(value) > 200:
            found.append("a long string")

    try:
        walk(json.loads(payload))
    except ValueError:
        found.append("not UTF-8 JSON")
    return found


def test_biometric_trace_finder_finds_them() -> None:
    encoding = [0.1 * i for i in range(128)]
    assert "a list of floats" in biometric_traces(json.dumps({"detail": {"e": encoding}}).encode())
    crop = base64.b64encode(photo("obama_480p").read_bytes()[:600]).decode()  # a real JPEG's bytes
    assert "a long base64-like run" in biometric_traces(json.dumps({"crop": crop}).encode())
    assert "JPEG bytes" in biometric_traces(b'{"x": "' + photo("obama_480p").read_bytes()[:3] + b'"}')
    assert "a long hex run" in biometric_traces(json.dumps({"e": bytes(range(40)).hex()}).encode())
    assert biometric_traces(b'{"person": "anon-1a2b3c4d5e6f", "distance": 0.35}') == []
    path = "/tmp/pytest-of-root/pytest-113/popen-gw0/scene0/doorway-camera-recording.avi"
    assert biometric_traces(json.dumps({"detail": {"source": path}}).encode()) == []


def test_through_the_agent_only_ids_leave_the_station(
    mosquitto: Mosquitto, scene: Scene, enrolled: Path, tmp_path: Path
) -> None:
    camera = {"type": "camera", "id": "face-1", "source": str(scene.path), "gallery": str(enrolled),
              "visit_gap_s": scene.visit_gap_s}
    config = station_config(mosquitto.port, tmp_path, [camera])
    everything = subscribe(mosquitto, "#")
    try:
        with AgentThread(Agent(config, fsync=False)):
            everything.wait_for(lambda _m: len(everything.of_kind("face", "face-1")) >= 3, timeout=60)
            everything.wait_for(lambda _m: any(m.topic.endswith("/heartbeat") for m in everything.messages))
        faces = [d.message for d in everything.of_kind("face", "face-1")]
        assert all(isinstance(f, Face) for f in faces)
        assert [(f.person if f.role == "elder" else "anon", f.role) for f in faces] == [
            (ELDER, "elder"), ("anon", "unknown"), (ELDER, "elder")
        ]
        assert faces[1].person.startswith("anon-")
        healths = [d.message for d in everything.of_kind("health", "face-1")]
        assert healths and all(isinstance(h, Health) for h in healths) and healths[0].ok
        assert len(everything.messages) >= 5
        for message in everything.messages:
            assert biometric_traces(message.payload) == [], (message.topic, message.payload[:200])
    finally:
        everything.client.loop_stop()
        everything.client.disconnect()


def test_a_failing_frame_is_counted_not_fatal(scene: Scene, enrolled: Path) -> None:
    from edge.face.gallery import Gallery
    from edge.face.runner import build_stages, run_source

    config = CameraConfig(type="camera", id="face-1", source=str(scene.path), gallery=enrolled, visit_gap_s=5)
    stages = build_stages(config, Gallery(enrolled, PASSPHRASE), remember_unknowns=False)
    detect, calls = stages.detector.detect, []

    def flaky(bgr: Image, regions: list[Box] | None = None) -> list[Box]:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("a corrupt frame")  # a library error on one frame (unit-level fault injection)
        return detect(bgr, regions)

    stages.detector.detect = flaky  # type: ignore[method-assign]
    seen: list[str] = []
    stats = run_source(config, stages, on_observation=lambda o: seen.append(o.identity.person), report=lambda *_: None)
    assert stats.errors == 1 and stats.frames == 260
    assert seen.count(ELDER) == 2 and len(seen) == 3


def test_someone_inside_when_the_agent_restarts_is_not_counted_again(
    enrolled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The camera keeps its open visits in the (encrypted) gallery: after a restart the elder still in view is on the
    visit already observed, not a new one; the book is per camera, honours the visit gap, and `forget` takes the
    person out of it."""
    from edge.face.gallery import Gallery

    def run_once(camera: str = "face-1", visit_gap_s: float = 1800) -> list[str]:
        config = CameraConfig(type="camera", id=camera, source=str(photo("obama_2")), gallery=enrolled,
                              visit_gap_s=visit_gap_s)

        def ended(readings: list[Reading]) -> bool:
            return any(h.get("detail", {}).get("ended") for h in health(readings))

        async def scenario() -> list[str]:
            readings, task = await collect(CameraDriver(config), ended)
            await stop(task)
            return [str(r.fields["person"]) for r in readings if r.kind is Kind.FACE]

        return asyncio.run(scenario())

    assert run_once() == [ELDER]
    book = enrolled / "visits-face-1.enc"
    assert book.is_file() and ELDER.encode() not in book.read_bytes()  # encrypted like the rest of the gallery
    assert run_once() == []  # restarted: the elder still in view is on the visit already counted
    assert run_once("face-2") == [ELDER]  # another camera keeps its own book
    assert run_once(visit_gap_s=0.001) == [ELDER]  # the kept sighting is older than this gap: a new visit
    forgot = eldercare(capsys, "edge", "forget", "--gallery", str(enrolled), "--id", ELDER)
    assert forgot.code == 0, forgot.err
    gallery = Gallery(enrolled, PASSPHRASE)
    assert ELDER not in gallery.visit_book("face-1") and ELDER not in gallery.visit_book("face-2")


def test_a_visit_book_that_cannot_be_read_is_not_the_end_of_the_camera(enrolled: Path) -> None:
    """A damaged book (a power cut mid-write on an old SD card) costs at most a repeated visit: the camera starts
    without it and writes a good one."""
    from edge.face.gallery import Gallery
    from edge.face.runner import VisitBook
    from edge.face.visits import Visits

    (enrolled / "visits-face-1.enc").write_bytes(b"not a Fernet token")
    gallery = Gallery(enrolled, PASSPHRASE)
    clock = [datetime(2026, 3, 2, 2, 0, tzinfo=UTC)]
    book = VisitBook(gallery, "face-1", clock=lambda: clock[0])
    assert book.load() == {}
    visits = Visits(1800)
    assert visits.seen(ELDER, clock[0].timestamp())
    book.keep(visits)
    assert gallery.visit_book("face-1") == {ELDER: clock[0].timestamp()}
    clock[0] += timedelta(hours=1)
    book.keep(visits)  # their visit is over: nothing of it is kept
    assert gallery.visit_book("face-1") == {}
