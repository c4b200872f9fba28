"""`eldercare edge camera-test` on the real photos and on a video built from them: the `face` payloads it prints
are valid protocol messages, one per person per visit, with the enrolled elder recognised and unknowns anonymous."""

import json
import re
from pathlib import Path

import pytest

from edge.face.models import DEFAULT_MODEL, model
from station_protocol import Face, decode
from tests.face.cli import eldercare
from tests.face.conftest import ELDER, Scene, photo


def faces(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[list[Face], str]:
    result = eldercare(capsys, "edge", "camera-test", *args)
    assert result.code == 0, result.err
    found = []
    for line in result.out.splitlines():
        message = decode("eldercare/v1/camera-test/camera/face", line).message
        assert isinstance(message, Face)
        found.append(message)
    return found, result.err


def test_stills_match_the_enrolled_elder_and_anonymise_the_rest(
    enrolled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gallery = ["--gallery", str(enrolled), "--remember-unknowns"]
    for name in ("obama_2", "obama_3", "obama_480p"):
        (face,), summary = faces(capsys, str(photo(name)), *gallery)
        assert (face.person, face.role) == (ELDER, "elder"), name
        assert 0 < face.distance <= model(DEFAULT_MODEL).tolerance
        assert "summary: 1 frames read, 0 gated out, 1 faces found" in summary
    (biden_1,), _ = faces(capsys, str(photo("biden_1")), *gallery)
    assert biden_1.person.startswith("anon-") and biden_1.role == "unknown"
    (biden_2,), _ = faces(capsys, str(photo("biden_2")), *gallery)
    assert biden_2.person == biden_1.person  # the month's unknown gallery, across runs
    together, summary = faces(capsys, str(photo("obama_and_biden")), *gallery)
    assert "3 faces found" in summary
    people = {f.person: f.role for f in together}
    assert len(together) == 3 and len(people) == 3
    assert people[ELDER] == "elder" and people[biden_1.person] == "unknown"
    (girl,) = set(people) - {ELDER, biden_1.person}
    assert girl.startswith("anon-") and people[girl] == "unknown"


def test_video_gives_one_observation_per_person_per_visit(
    scene: Scene, enrolled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found, summary = faces(
        capsys, str(scene.path), "--gallery", str(enrolled), "--visit-gap", str(scene.visit_gap_s)
    )
    # Obama: the first visit (with a 1.5 s step out) and a second one after the gap; Biden once, anonymous.
    assert [(f.role, f.person if f.role == "elder" else "anon") for f in found] == [
        ("elder", ELDER),
        ("unknown", "anon"),
        ("elder", ELDER),
    ]
    assert [f.seq for f in found] == [0, 1, 2]
    offsets = [(f.ts - found[0].ts).total_seconds() for f in found]
    assert 8 < offsets[1] < 13.5 and 19 < offsets[2] < 24  # when they arrived, on the video's own timeline
    counted = re.findall(r"(\d+) (frames read|gated out|faces found|encodings)", summary)
    numbers = {key: int(value) for value, key in counted}
    assert numbers["frames read"] == 260
    assert numbers["gated out"] > 100  # the empty doorway is not searched for faces
    assert numbers["encodings"] <= 9  # a few per visit, not one per frame
    assert numbers["faces found"] > 40


def test_unreadable_sources_are_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = eldercare(capsys, "edge", "camera-test", str(tmp_path / "nothing.mp4"))
    assert missing.code == 1 and missing.err.strip().endswith(f"no such file: {tmp_path / 'nothing.mp4'}")
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(b"RIFF" + bytes(range(256)) * 40)
    broken = eldercare(capsys, "edge", "camera-test", str(garbage))
    assert broken.code == 1 and "eldercare: error: no frame could be read" in broken.err
    assert json.dumps(broken.out) == '""'
