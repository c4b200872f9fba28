"""Face fixtures: the real test photos, an enrolled gallery and a camera scene video built from the stills.

Encodings are slow (~100 ms each, more for enrolment on a large photo): everything costly is made once per session
and copied into each test's own directory.
"""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.face import synthetic
from edge.face.facestack import Image, enrolment_encoding
from edge.face.gallery import KEY_ENV, Gallery, Person
from edge.face.models import DEFAULT_MODEL, model

FACES = Path(__file__).resolve().parents[1] / "data" / "faces"
PASSPHRASE = "correct horse battery staple"
ELDER = "elder-obama"


def photo(name: str) -> Path:
    return FACES / f"{name}.jpg"


@pytest.fixture
def gallery_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, PASSPHRASE)
    return PASSPHRASE


@pytest.fixture(scope="session")
def enrolled_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gallery with obama_1.jpg enrolled as an elder, made once."""
    directory = tmp_path_factory.mktemp("gallery-template") / "gallery"
    encoding = [float(x) for x in enrolment_encoding(photo("obama_1"), model(DEFAULT_MODEL).encode)]
    Gallery(directory, PASSPHRASE).enrol(Person(id=ELDER, role="elder", encodings=[encoding]), DEFAULT_MODEL)
    return directory


@pytest.fixture
def enrolled(enrolled_template: Path, tmp_path: Path, gallery_key: str) -> Path:
    """This test's own copy of the enrolled gallery, with the key in the environment."""
    directory = tmp_path / "gallery"
    shutil.copytree(enrolled_template, directory)
    return directory


@dataclass(frozen=True)
class Scene:
    """A video built from the stills, and the visits it shows."""

    path: Path
    visit_gap_s: float
    appearances: list[synthetic.Appearance]


@pytest.fixture(scope="session")
def sprites() -> dict[str, Image]:
    return {name: synthetic.head_sprite(photo(name), 330) for name in ("obama_2", "biden_2")}


@pytest.fixture(scope="session")
def scene(sprites: dict[str, Image], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    """Obama walks in, stays, steps out and back within the gap (same visit); Biden visits; Obama comes back after
    the gap (a new visit). Written with cv2.VideoWriter, read back through cv2.VideoCapture by the pipeline."""
    obama, biden = sprites["obama_2"], sprites["biden_2"]
    appearances = [
        synthetic.Appearance("obama", obama, 0.5, 5.0),
        synthetic.Appearance("obama", obama, 6.5, 9.5),  # back 1.5 s later: same visit
        synthetic.Appearance("biden", biden, 10.0, 14.0, slot=0.35),
        synthetic.Appearance("obama", obama, 21.0, 25.0),  # 11.5 s after leaving, gap 5 s: a new visit
    ]
    path = tmp_path_factory.mktemp("scene") / "doorway.avi"
    synthetic.write_video(path, synthetic.render(appearances, duration_s=26, fps=10), fps=10)
    yield Scene(path=path, visit_gap_s=5.0, appearances=appearances)
