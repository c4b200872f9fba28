"""The gallery is encrypted at rest, needs the passphrase, forgets on request and purges unknowns monthly."""

import json
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from edge.face.gallery import Gallery, GalleryError, Person, Unknown, passphrase_from_env
from edge.face.match import Recogniser
from tests.face.conftest import ELDER, PASSPHRASE


def vector(seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    v = rng.normal(0, 1, 128)
    return [float(x) for x in v / np.linalg.norm(v)]


def test_files_reveal_neither_ids_nor_encodings(tmp_path: Path) -> None:
    directory = tmp_path / "gallery"
    gallery = Gallery(directory, PASSPHRASE)
    gallery.enrol(Person(id="elder-0042", role="elder", encodings=[vector(1)]), "sface")
    gallery.save_unknowns("2026-11", [Unknown(id="anon-abc123", encodings=[vector(2)])], "sface")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        raw = path.read_bytes()
        assert b"elder-0042" not in raw and b"anon-abc123" not in raw and b"elder" not in raw
        assert not re.search(rb"-?0\.\d{6}", raw), f"{path.name} holds plain numbers"
    assert json.loads((directory / "kdf.json").read_text())["kdf"] == "scrypt"
    # A fresh process with the passphrase reads it all back.
    again = Gallery(directory, PASSPHRASE)
    assert [(p.id, p.role, p.encodings) for p in again.people()] == [("elder-0042", "elder", [vector(1)])]
    assert [u.id for u in again.unknowns("2026-11")] == ["anon-abc123"]


def test_wrong_or_missing_passphrase_is_refused(tmp_path: Path) -> None:
    Gallery(tmp_path, PASSPHRASE).enrol(Person(id=ELDER, role="elder", encodings=[vector(1)]), "sface")
    with pytest.raises(GalleryError, match="does not decrypt"):
        Gallery(tmp_path, "not the passphrase").people()
    with pytest.raises(GalleryError, match="ELDERCARE_GALLERY_KEY is not set"):
        passphrase_from_env({})
    with pytest.raises(GalleryError, match="too short"):
        passphrase_from_env({"ELDERCARE_GALLERY_KEY": "abc"})


def test_forget_deletes_the_person(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path, PASSPHRASE)
    gallery.enrol(Person(id="a", role="elder", encodings=[vector(1)]), "sface")
    gallery.enrol(Person(id="b", role="staff", encodings=[vector(2)]), "sface")
    assert gallery.forget("a") is True
    assert gallery.forget("a") is False
    assert [p.id for p in Gallery(tmp_path, PASSPHRASE).people()] == ["b"]


def test_unknowns_are_kept_for_the_month_then_purged(tmp_path: Path) -> None:
    gallery = Gallery(tmp_path, PASSPHRASE)
    recogniser = Recogniser([], 0.5, load_unknowns=gallery.unknowns, save_unknowns=gallery.save_unknowns)
    face = np.asarray(vector(5))
    october = recogniser.unknown([face], "2026-10")
    assert october.person.startswith("anon-") and october.role == "unknown"
    # The id is random, not derived from the face: the same face in a fresh gallery gets another id.
    assert Recogniser([], 0.5).unknown([face], "2026-10").person != october.person
    # Same face later this month, even after a restart: same id.
    restarted = Recogniser([], 0.5, load_unknowns=gallery.unknowns, save_unknowns=gallery.save_unknowns)
    assert restarted.unknown([face + 0.001], "2026-10").person == october.person
    assert (tmp_path / "unknown-2026-10.enc").exists()
    # A new month: last month's unknowns are deleted and the face gets a new id.
    november = restarted.unknown([face], "2026-11")
    assert november.person != october.person
    assert not (tmp_path / "unknown-2026-10.enc").exists()
    assert [u.id for u in gallery.unknowns("2026-11")] == [november.person]


def test_key_can_live_in_a_file_off_the_sd_card(tmp_path: Path) -> None:
    """`ELDERCARE_GALLERY_KEY_FILE` names a file (a USB key, or /run filled at boot) instead of an env line."""
    key_file = tmp_path / "usb" / "gallery-key"
    key_file.parent.mkdir()
    key_file.write_text(PASSPHRASE + "\n")
    key_file.chmod(0o600)
    assert passphrase_from_env({"ELDERCARE_GALLERY_KEY_FILE": str(key_file)}) == PASSPHRASE
    Gallery(tmp_path / "g", passphrase_from_env({"ELDERCARE_GALLERY_KEY_FILE": str(key_file)})).enrol(
        Person(id=ELDER, role="elder", encodings=[vector(1)]), "sface"
    )
    assert [p.id for p in Gallery(tmp_path / "g", PASSPHRASE).people()] == [ELDER]
    key_file.chmod(0o644)
    with pytest.raises(GalleryError, match="readable by others"):
        passphrase_from_env({"ELDERCARE_GALLERY_KEY_FILE": str(key_file)})
    with pytest.raises(GalleryError, match="cannot read"):
        passphrase_from_env({"ELDERCARE_GALLERY_KEY_FILE": str(tmp_path / "unplugged" / "gallery-key")})
    with pytest.raises(GalleryError, match="both"):
        passphrase_from_env({"ELDERCARE_GALLERY_KEY_FILE": str(key_file), "ELDERCARE_GALLERY_KEY": PASSPHRASE})
    key_file.write_text("\n")
    key_file.chmod(0o600)
    with pytest.raises(GalleryError, match="is empty"):
        passphrase_from_env({"ELDERCARE_GALLERY_KEY_FILE": str(key_file)})


def test_a_gallery_keeps_the_face_model_of_its_encodings(tmp_path: Path) -> None:
    """Encodings of two face models cannot be compared: the gallery records its model, refuses to mix them, and
    reads a gallery written before the model was recorded as dlib's (the only model there was)."""
    gallery = Gallery(tmp_path, PASSPHRASE)
    assert gallery.model() is None
    gallery.enrol(Person(id="a", role="elder", encodings=[vector(1)]), "dlib")
    gallery.save_unknowns("2026-11", [Unknown(id="anon-abc123", encodings=[vector(2)])], "dlib")
    assert gallery.enrolled()[1] == "dlib"
    with pytest.raises(GalleryError, match="enrolled with the dlib face model"):
        gallery.enrol(Person(id="b", role="elder", encodings=[vector(3)]), "sface")
    assert [p.id for p in gallery.people()] == ["a"]
    # Unknown visitors of another model are not handed to a matcher of this one.
    assert [u.id for u in gallery.unknowns("2026-11", "dlib")] == ["anon-abc123"]
    assert gallery.unknowns("2026-11", "sface") == []
    # Re-enrolling the only person with the new model moves the gallery to it and drops the old unknowns.
    gallery.enrol(Person(id="a", role="elder", encodings=[vector(4)]), "sface")
    assert gallery.model() == "sface" and not list(tmp_path.glob("unknown-*.enc"))
    # A file written before models were recorded.
    gallery._write("people.enc", {"version": 1, "people": [{"id": "old", "role": "staff", "encodings": [vector(5)]}]})
    assert Gallery(tmp_path, PASSPHRASE).enrolled() == ([Person("old", "staff", [vector(5)])], "dlib")


@pytest.mark.parametrize("key", ["change-me", "a long passphrase kept out of git", "A long passphrase", "PASSWORD"])
def test_a_placeholder_or_the_docs_example_is_refused_as_a_gallery_key(key: str) -> None:
    # The docs' own example, copied as it stands, would be the same key on every station that did so.
    with pytest.raises(GalleryError, match="placeholder or an example"):
        passphrase_from_env({"ELDERCARE_GALLERY_KEY": key})
