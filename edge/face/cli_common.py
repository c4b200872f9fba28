"""What the face commands share: the --gallery and --config options, a station file's camera, the gallery opened
with the key from the environment, and one clear line when the face stack is not installed."""

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from firmware_config.devices.camera import CameraConfig

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
def face_extra() -> Iterator[None]:
    """Turn a missing face stack into one clear line."""
    try:
        yield
    except ImportError as exc:
        raise click.ClickException(
            f"the face extra is not installed ({exc.name or exc}): run scripts/setup, see docs/face.md"
        ) from None


def station_camera(config_file: Path) -> tuple[str, CameraConfig]:
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


def open_gallery(directory: Path) -> Any:
    with face_extra():
        from edge.face.gallery import Gallery, GalleryError, passphrase_from_env

    try:
        gallery = Gallery(directory, passphrase_from_env())
        gallery.check_key()
    except GalleryError as exc:
        raise click.ClickException(str(exc)) from None
    return gallery
