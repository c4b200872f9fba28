"""`eldercare edge enrol | forget | gallery`: the station's face gallery (`camera-test` is in camera_test.py).

Encodings are computed here, on the device, and stored only in the encrypted gallery; nothing here prints them.
"""

from pathlib import Path

import click
from pydantic import TypeAdapter, ValidationError

from edge.face.cli_common import ConfigOption, GalleryOption, face_extra, open_gallery, station_camera
from firmware_config.devices.camera import CameraConfig
from station_protocol.messages import PersonId


def _camera_from(config_file: Path) -> CameraConfig:
    return station_camera(config_file)[1]


def _gallery_dir(gallery: Path | None, config_file: Path | None) -> Path:
    if gallery is not None:
        return gallery
    if config_file is not None:
        return _camera_from(config_file).gallery
    raise click.ClickException("give --gallery DIR, or --config STATION.yaml whose camera names its gallery")


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
    with face_extra():
        import numpy as np

        from edge.face.facestack import FaceStackError, enrolment_encodings
        from edge.face.gallery import GalleryError, Person
        from edge.face.match import Recogniser
        from edge.face.models import DEFAULT_MODEL, load, model

    person_id = _person_id(person_id)
    directory = _gallery_dir(gallery, config_file)
    configured = _camera_from(config_file).tolerance if gallery is None and config_file else None
    store = open_gallery(directory)
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
    if not open_gallery(directory).forget(person_id):
        raise click.ClickException(f"{person_id} is not enrolled in {directory}")
    click.echo(f"forgot {person_id}: their encodings are deleted from {directory}")


@click.command()
@GalleryOption
@ConfigOption
def gallery(gallery: Path | None, config_file: Path | None) -> None:
    """List enrolled ids and roles (never encodings), and how many anonymous visitors this month has."""
    from datetime import datetime

    directory = _gallery_dir(gallery, config_file)
    store = open_gallery(directory)
    people, name = store.enrolled()
    for person in sorted(people, key=lambda p: p.id):
        click.echo(f"{person.id}\t{person.role}")
    month = datetime.now().astimezone().strftime("%Y-%m")
    unknown = len(store.unknowns(month))
    face_model = f" (face model {name})" if name else ""
    click.echo(
        f"{len(people)} enrolled{face_model}, {unknown} anonymous visitor(s) in {month}, in {directory}", err=True
    )


