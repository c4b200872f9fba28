"""`eldercare edge enrol | forget | gallery | camera-test`: the station's face gallery and a dry run of the camera.

Encodings are computed here, on the device, and stored only in the encrypted gallery; nothing here prints them.
"""

import importlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import click
from pydantic import TypeAdapter, ValidationError

from firmware_config.devices.camera import CameraConfig
from station_protocol import Face, encode, new_event_id
from station_protocol.messages import PersonId

GalleryOption = click.option(
    "--gallery",
    type=click.Path(file_okay=False, path_type=Path),
    help="The gallery directory (default: the camera's `gallery` in --config).",
)
ConfigOption = click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The station's config file, for its camera's settings and gallery directory.",
)


@contextmanager
def _face_extra() -> Iterator[None]:
    """Turn a missing face stack into one clear line."""
    try:
        yield
    except ImportError as exc:
        raise click.ClickException(
            f"the face extra is not installed ({exc.name or exc}): run scripts/setup, see docs/face.md"
        ) from None


def _station_camera(config_file: Path) -> tuple[str, CameraConfig]:
    """The station id and its camera, from a station file (read with the agent's own loader)."""
    try:
        load_station: Any = importlib.import_module("firmware_config.load").load_station
    except (ImportError, AttributeError):
        raise click.ClickException("this version cannot read station files: give --gallery DIR") from None
    try:
        station = load_station(config_file)
    except ValueError as exc:
        raise click.ClickException(str(exc).splitlines()[0]) from None
    cameras = [device for device in station.devices if device.type == "camera"]
    if not cameras:
        raise click.ClickException(f"{config_file} configures no camera: give --gallery DIR")
    if len({camera.gallery for camera in cameras}) > 1:
        raise click.ClickException(f"{config_file} has cameras with different galleries: give --gallery DIR")
    return str(station.station), cameras[0]


def _camera_from(config_file: Path) -> CameraConfig:
    return _station_camera(config_file)[1]


def _gallery_dir(gallery: Path | None, config_file: Path | None) -> Path:
    if gallery is not None:
        return gallery
    if config_file is not None:
        return _camera_from(config_file).gallery
    raise click.ClickException("give --gallery DIR, or --config STATION.yaml whose camera names its gallery")


def _open_gallery(directory: Path) -> Any:
    with _face_extra():
        from edge.face.gallery import Gallery, GalleryError, passphrase_from_env

    try:
        gallery = Gallery(directory, passphrase_from_env())
        gallery.check_key()
    except GalleryError as exc:
        raise click.ClickException(str(exc)) from None
    return gallery


def _person_id(value: str) -> str:
    try:
        TypeAdapter(PersonId).validate_python(value)
    except ValidationError:
        raise click.BadParameter(
            "1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit", param_hint="--id"
        ) from None
    if value.lower().startswith("anon-"):
        raise click.BadParameter("ids starting with 'anon-' are kept for anonymous visitors", param_hint="--id")
    return value


@click.command()
@GalleryOption
@ConfigOption
@click.option("--id", "person_id", required=True, help="The person's id as the cloud will see it, e.g. elder-0042.")
@click.option("--role", type=click.Choice(["elder", "staff"]), required=True)
@click.option("--force", is_flag=True, help="Enrol even if the face looks like someone already enrolled.")
@click.argument("images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def enrol(
    gallery: Path | None, config_file: Path | None, person_id: str, role: str, force: bool, images: tuple[Path, ...]
) -> None:
    """Enrol a person (with their consent) from one or more photos of their face: each must show exactly one face,
    at least 80 px tall and sharp. Several photos (other light, glasses, a year apart) give better matches."""
    with _face_extra():
        import numpy as np

        from edge.face.facestack import FaceStackError, enrolment_encodings
        from edge.face.gallery import GalleryError, Person
        from edge.face.match import Recogniser
        from edge.face.models import DEFAULT_MODEL, load, model

    person_id = _person_id(person_id)
    directory = _gallery_dir(gallery, config_file)
    configured = _camera_from(config_file).tolerance if gallery is None and config_file else None
    store = _open_gallery(directory)
    people, name = store.enrolled()
    enrolled = [p for p in people if p.id != person_id]
    try:
        # A gallery keeps the face model its people were enrolled with (encodings of two models cannot be
        # compared); a new or emptied one takes the current default.
        face_model = model(name if name and enrolled else DEFAULT_MODEL)
        load(face_model)
    except (ValueError, FaceStackError) as exc:
        raise click.ClickException(f"{exc}; nothing was enrolled") from None
    tolerance = configured if configured is not None else face_model.tolerance
    vectors, sized = [], []
    for index, image in enumerate(images, 1):
        click.echo(f"enrol: reading {image} ({index}/{len(images)})", err=True)
        try:
            per_photo = enrolment_encodings(image, face_model.encode)
        except (ValueError, FaceStackError) as exc:
            raise click.ClickException(f"{exc}; nothing was enrolled") from None
        vectors.append(per_photo[0])
        sized += per_photo[1:]
    for image, vector in zip(images[1:], vectors[1:], strict=True):
        distance = float(np.linalg.norm(vector - vectors[0]))
        if distance > tolerance:
            raise click.ClickException(
                f"{images[0]} and {image} do not look like the same person (face distance {distance:.2f} > "
                f"{tolerance}); nothing was enrolled"
            )
    others = Recogniser(enrolled, tolerance, face_model=face_model)
    lookalike = next((who for v in vectors if (who := others.known(v)) is not None), None)
    if lookalike is not None and not force:
        raise click.ClickException(
            f"this face looks like {lookalike.person}, already enrolled (distance {lookalike.distance:.2f}): "
            "forget them first, or pass --force if they really are two people; nothing was enrolled"
        )
    # The photos' own encodings, and each also made as small as a door camera sees it.
    encodings = [[float(x) for x in vector] for vector in vectors + sized]
    try:
        replaced = store.enrol(Person(id=person_id, role=role, encodings=encodings), face_model.name)  # type: ignore[arg-type]
    except GalleryError as exc:  # someone enrolled others with another model meanwhile
        raise click.ClickException(f"{exc}; nothing was enrolled") from None
    verb = "re-enrolled" if replaced else "enrolled"
    click.echo(f"{verb} {person_id} ({role}) from {len(images)} photo(s) in {directory} (face model {face_model.name})")


@click.command()
@GalleryOption
@ConfigOption
@click.option("--id", "person_id", required=True, help="The enrolled person's id.")
def forget(gallery: Path | None, config_file: Path | None, person_id: str) -> None:
    """Delete a person and their face encodings from the gallery (the right to deletion)."""
    directory = _gallery_dir(gallery, config_file)
    if not _open_gallery(directory).forget(person_id):
        raise click.ClickException(f"{person_id} is not enrolled in {directory}")
    click.echo(f"forgot {person_id}: their encodings are deleted from {directory}")


@click.command()
@GalleryOption
@ConfigOption
def gallery(gallery: Path | None, config_file: Path | None) -> None:
    """List enrolled ids and roles (never encodings), and how many anonymous visitors this month has."""
    from datetime import datetime

    directory = _gallery_dir(gallery, config_file)
    store = _open_gallery(directory)
    people, name = store.enrolled()
    for person in sorted(people, key=lambda p: p.id):
        click.echo(f"{person.id}\t{person.role}")
    month = datetime.now().astimezone().strftime("%Y-%m")
    unknown = len(store.unknowns(month))
    face_model = f" (face model {name})" if name else ""
    click.echo(
        f"{len(people)} enrolled{face_model}, {unknown} anonymous visitor(s) in {month}, in {directory}", err=True
    )


@click.command("camera-test")
@click.argument("source")
@GalleryOption
@ConfigOption
@click.option(
    "--tolerance",
    type=click.FloatRange(0, 2, min_open=True, max_open=True),
    help="Match tolerance (default: the gallery's face model's measured one).",
)
@click.option("--detect-scale", type=click.FloatRange(0, 1, min_open=True), help="Frame scale for detection.")
@click.option("--visit-gap", type=click.FloatRange(0, min_open=True), help="Seconds that separate two visits.")
@click.option("--seconds", type=click.FloatRange(0, min_open=True), help="Stop a live source after this long.")
@click.option("--station", help="Station id in the printed payloads (default: --config's station, or camera-test).")
@click.option("--remember-unknowns", is_flag=True, help="Keep unknown visitors in the month's gallery.")
def camera_test(
    source: str,
    gallery: Path | None,
    config_file: Path | None,
    tolerance: float | None,
    detect_scale: float | None,
    visit_gap: float | None,
    seconds: float | None,
    station: str | None,
    remember_unknowns: bool,
) -> None:
    """Run the face pipeline on SOURCE (camera index, stream URL, video file or image) and print the `face`
    payloads it would publish, one JSON line each, then the faces' sizes and a summary of frames read, gated out and
    faces found."""
    with _face_extra():
        from edge.face.capture import redact
        from edge.face.facestack import FaceStackError
        from edge.face.pipeline import Observation, Stats
        from edge.face.runner import build_stages, run_source

    base = None
    if config_file:
        station_id, base = _station_camera(config_file)
        station = station or station_id
    station = station or "camera-test"
    settings: dict[str, Any] = base.model_dump() if base else {"type": "camera", "id": "camera", "gallery": Path()}
    overrides = {"tolerance": tolerance, "detect_scale": detect_scale, "visit_gap_s": visit_gap}
    settings.update({k: v for k, v in overrides.items() if v is not None}, source=source)
    if gallery is not None:
        settings["gallery"] = gallery
    config = CameraConfig.model_validate(settings)
    store = _open_gallery(config.gallery) if gallery is not None or base is not None else None
    try:
        stages = build_stages(config, store, remember_unknowns=remember_unknowns)
    except FaceStackError as exc:
        raise click.ClickException(str(exc)) from None

    seq = 0
    reports: list[tuple[bool, str | None]] = []
    started = time.monotonic()
    next_progress = started + 10

    def show(observation: Observation) -> None:
        nonlocal seq
        who = observation.identity
        face = Face(
            v=1,
            id=UUID(new_event_id()),
            station=station,
            device=config.id,
            seq=seq,
            ts=observation.ts,
            person=who.person,
            role=who.role,
            distance=who.distance,
        )
        seq += 1
        click.echo(encode(face).decode())

    def report(ok: bool, error: str | None) -> None:
        reports.append((ok, error))
        if not ok:
            click.echo(f"camera-test: {error}", err=True)

    def progress(stats: Stats) -> None:
        nonlocal next_progress
        if time.monotonic() >= next_progress:
            next_progress += 10
            click.echo(f"camera-test: {stats.frames} frames, {stats.observations} observations so far", err=True)

    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set) if seconds else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        stats = run_source(config, stages, on_observation=show, report=report, tick=progress, stop=stop)
    except KeyboardInterrupt:
        stats = stages.stats
    finally:
        stop.set()
        if timer:
            timer.cancel()
    if not any(ok for ok, _ in reports):
        last = (reports[-1][1] or "").split(";")[0] if reports else "the source ended"
        raise click.ClickException(f"no frame could be read from {redact(source)}: {last}")
    elapsed = max(time.monotonic() - started, 1e-9)
    smallest = f" (smallest {stats.smallest_face_px} px tall)" if stats.faces else ""
    if stats.faces:
        click.echo(
            f"faces by height: {stats.faces_under_60px} under 60 px, {stats.faces_60_99px} of 60-99 px, "
            f"{stats.faces_100_149px} of 100-149 px, {stats.faces_150px_up} of 150 px or more; "
            f"smallest {stats.smallest_face_px} px, largest {stats.largest_face_px} px",
            err=True,
        )
    if stats.faces_under_60px:
        click.echo(
            f"camera-test: {stats.faces_under_60px} of {stats.faces} faces were under 60 px tall, too small to "
            "identify reliably: aim the camera closer to the door, or zoom in",
            err=True,
        )
    click.echo(
        f"summary: {stats.frames} frames read, {stats.gated_out} gated out, {stats.faces} faces found{smallest}, "
        f"{stats.encodings} encodings, {stats.observations} observations, {stats.errors} errors, "
        f"{elapsed:.1f} s ({stats.frames / elapsed:.1f} frames/s)",
        err=True,
    )
