"""`eldercare edge camera-test`: the face pipeline run on a source, printing the `face` payloads it would publish
(never an image or an encoding), the faces' sizes and a summary, so an installer sees at once whether faces are big
enough to identify."""

import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from edge.face.cli_common import ConfigOption, GalleryOption, face_extra, open_gallery, station_camera
from firmware_config.devices.camera import CameraConfig
from station_protocol import Face, encode, new_event_id


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
    with face_extra():
        from edge.face.capture import redact
        from edge.face.facestack import FaceStackError
        from edge.face.pipeline import Observation, Stats
        from edge.face.runner import build_stages, run_source

    base = None
    if config_file:
        station_id, base = station_camera(config_file)
        station = station or station_id
    station = station or "camera-test"
    settings: dict[str, Any] = base.model_dump() if base else {"type": "camera", "id": "camera", "gallery": Path()}
    overrides = {"tolerance": tolerance, "detect_scale": detect_scale, "visit_gap_s": visit_gap}
    settings.update({k: v for k, v in overrides.items() if v is not None}, source=source)
    if gallery is not None:
        settings["gallery"] = gallery
    config = CameraConfig.model_validate(settings)
    store = open_gallery(config.gallery) if gallery is not None or base is not None else None
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
