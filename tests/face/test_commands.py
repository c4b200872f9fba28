"""`eldercare edge enrol | forget | gallery`: consent-based enrolment with the real photos, ids only on screen."""

import re
from pathlib import Path

import pytest

from edge.face.gallery import KEY_ENV
from tests.face.cli import eldercare
from tests.face.conftest import ELDER, photo


def test_enrol_list_forget(tmp_path: Path, gallery_key: str, capsys: pytest.CaptureFixture[str]) -> None:
    gallery = str(tmp_path / "gallery")
    done = eldercare(capsys, "edge", "enrol", "--gallery", gallery, "--id", "staff-07", "--role", "staff",
                     str(photo("biden_1")), str(photo("biden_2")))
    assert done.code == 0, done.err
    assert done.out.strip() == f"enrolled staff-07 (staff) from 2 photo(s) in {gallery} (face model sface)"
    listed = eldercare(capsys, "edge", "gallery", "--gallery", gallery)
    assert listed.code == 0 and listed.out == "staff-07\tstaff\n"
    assert "1 enrolled (face model sface)" in listed.err
    for text in (done.out + done.err, listed.out + listed.err):
        assert not re.search(r"\d\.\d{4,}", text), "an encoding was printed"
    forgot = eldercare(capsys, "edge", "forget", "--gallery", gallery, "--id", "staff-07")
    assert forgot.code == 0 and "forgot staff-07" in forgot.out
    assert eldercare(capsys, "edge", "gallery", "--gallery", gallery).out == ""
    again = eldercare(capsys, "edge", "forget", "--gallery", gallery, "--id", "staff-07")
    assert again.code == 1 and again.err.strip() == f"eldercare: error: staff-07 is not enrolled in {gallery}"


def test_enrol_refuses_photos_without_exactly_one_face(
    enrolled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    several = eldercare(capsys, "edge", "enrol", "--gallery", str(enrolled), "--id", "x-1", "--role", "elder",
                        str(photo("obama_2")), str(photo("obama_and_biden")))
    assert several.code == 1
    assert several.err.splitlines()[-1] == (
        f"eldercare: error: {photo('obama_and_biden')}: 3 faces found; enrolment needs a photo of exactly one person; "
        "nothing was enrolled"
    )
    empty = tmp_path / "empty.png"
    import cv2

    from edge.face.synthetic import background

    cv2.imwrite(str(empty), background())
    none = eldercare(capsys, "edge", "enrol", "--gallery", str(enrolled), "--id", "x-1", "--role", "elder", str(empty))
    assert none.code == 1 and "no face found" in none.err
    mixed = eldercare(capsys, "edge", "enrol", "--gallery", str(enrolled), "--id", "x-1", "--role", "elder",
                      str(photo("biden_1")), str(photo("obama_2")))
    assert mixed.code == 1 and "do not look like the same person" in mixed.err
    assert eldercare(capsys, "edge", "gallery", "--gallery", str(enrolled)).out == f"{ELDER}\telder\n"


def test_enrolling_someone_twice_under_another_id_needs_force(
    enrolled: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["edge", "enrol", "--gallery", str(enrolled), "--id", "elder-0099", "--role", "elder", str(photo("obama_2"))]
    twice = eldercare(capsys, *args)
    assert twice.code == 1 and f"this face looks like {ELDER}, already enrolled" in twice.err
    forced = eldercare(capsys, *args, "--force")
    assert forced.code == 0, forced.err
    listed = eldercare(capsys, "edge", "gallery", "--gallery", str(enrolled))
    assert listed.out == f"elder-0099\telder\n{ELDER}\telder\n"


def test_refuses_without_key_gallery_or_valid_id(
    enrolled: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    anon = eldercare(capsys, "edge", "enrol", "--gallery", str(enrolled), "--id", "anon-123", "--role", "elder",
                     str(photo("obama_2")))
    assert anon.code == 2 and "anonymous visitors" in anon.err
    nowhere = eldercare(capsys, "edge", "gallery")
    assert nowhere.code == 1
    assert nowhere.err.strip() == (
        "eldercare: error: give --gallery DIR, or --config STATION.yaml whose camera names its gallery"
    )
    monkeypatch.setenv(KEY_ENV, "a wrong passphrase")
    wrong = eldercare(capsys, "edge", "gallery", "--gallery", str(enrolled))
    assert wrong.code == 1 and "ELDERCARE_GALLERY_KEY does not decrypt" in wrong.err
    monkeypatch.delenv(KEY_ENV)
    enrol = ["enrol", "--id", "x", "--role", "staff", str(photo("obama_2"))]
    for args in (["gallery"], ["forget", "--id", ELDER], enrol):
        refused = eldercare(capsys, "edge", *args, "--gallery", str(enrolled))
        assert refused.code == 1
        assert refused.err.strip() == (
            "eldercare: error: ELDERCARE_GALLERY_KEY is not set: "
            "the face gallery is encrypted with a key derived from it (or name a file holding it in "
            "ELDERCARE_GALLERY_KEY_FILE)"
        )


def test_gallery_from_the_station_config(enrolled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    station = tmp_path / "station.yaml"
    station.write_text(
        "station: qd-test-01\nname: 测试站\ngrade: 3A\ntown: 汇龙镇\naddress: 某路1号\n"
        "mqtt: {host: 127.0.0.1, port: 1883, tls: false}\n"
        f"devices:\n  - {{type: camera, id: face-1, source: '0', gallery: {enrolled}}}\n"
    )
    listed = eldercare(capsys, "edge", "gallery", "--config", str(station))
    assert listed.code == 0, listed.err
    assert listed.out == f"{ELDER}\telder\n"
    tested = eldercare(capsys, "edge", "camera-test", str(photo("obama_480p")), "--config", str(station))
    (face,) = tested.out.splitlines()
    assert '"station":"qd-test-01","device":"face-1"' in face and f'"person":"{ELDER}"' in face
    plain = tmp_path / "no-camera.yaml"
    plain.write_text(station.read_text().split("devices:")[0])
    refused = eldercare(capsys, "edge", "gallery", "--config", str(plain))
    assert refused.code == 1 and "configures no camera" in refused.err


def test_enrolling_into_a_gallery_of_the_older_model_keeps_its_model(
    tmp_path: Path, gallery_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A station enrolled before SFace has dlib encodings: a newcomer is enrolled with dlib too (the two models'
    encodings cannot be compared), until everyone is enrolled afresh."""
    from edge.face import facestack
    from edge.face.gallery import Gallery

    directory = tmp_path / "gallery"
    biden = [float(x) for x in facestack.enrolment_encoding(photo("biden_1"), facestack.encode)]
    Gallery(directory, gallery_key)._write("people.enc", {"version": 1, "people": [
        {"id": "staff-07", "role": "staff", "encodings": [biden]}]})
    done = eldercare(capsys, "edge", "enrol", "--gallery", str(directory), "--id", ELDER, "--role", "elder",
                     str(photo("obama_1")))
    assert done.code == 0 and done.out.strip().endswith("(face model dlib)"), done.err
    assert Gallery(directory, gallery_key).model() == "dlib"
    # Biden again under another id: the dlib tolerance (0.5) is what says he is already enrolled.
    twice = eldercare(capsys, "edge", "enrol", "--gallery", str(directory), "--id", "staff-08", "--role", "staff",
                      str(photo("biden_2")))
    assert twice.code == 1 and "this face looks like staff-07" in twice.err
    assert {p.id for p in Gallery(directory, gallery_key).people()} == {"staff-07", ELDER}
