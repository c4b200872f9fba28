"""The station's face gallery on disk, encrypted at rest: enrolled people, and this month's unknown visitors.

Layout of the gallery directory (mode 0700, files 0600):
- `kdf.json`: the key-derivation parameters and random salt (not secret);
- `people.enc`: enrolled people (id, role, encodings) and the face model the encodings came from, as a Fernet token;
- `unknown-YYYY-MM.enc`: the month's anonymous visitors (`anon-…` id, encodings, model); older months are deleted;
- `visits-<camera>.enc`: each camera's open visits (person id, last sighting), so a restarted agent does not count
  someone already inside again.

The key is derived with scrypt from a passphrase given either in `ELDERCARE_GALLERY_KEY` or, to keep it off the SD
card, in a file named by `ELDERCARE_GALLERY_KEY_FILE` (a USB key kept apart from the station, or a file in /run that
an operator fills at boot): the gallery files alone reveal nothing.
Only ids and roles are ever shown; encodings never leave this module except to the matcher in memory.
"""

import base64
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

KEY_ENV = "ELDERCARE_GALLERY_KEY"
KEY_FILE_ENV = "ELDERCARE_GALLERY_KEY_FILE"
MIN_PASSPHRASE = 8
# Passphrases nobody chose: placeholders, and the examples in the docs (copied as they stand, they would be the same
# key on every station that did so). Compared case-insensitively, without surrounding spaces.
KNOWN_PASSPHRASES = frozenset({
    "change-me", "changeme", "change_me", "password", "passw0rd", "passphrase", "secret", "12345678", "123456789",
    "eldercare", "a long passphrase", "a long passphrase kept out of git",
})
# scrypt cost: 2**15 x 8 x 128 bytes = 32 MiB and ~0.1 s here, ~0.5 s on a Raspberry Pi 4; derived once per process.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1

Role = Literal["elder", "staff"]
Encoding = list[float]
# Galleries written before the face model was recorded hold dlib encodings: the only model there was.
LEGACY_MODEL = "dlib"


class GalleryError(Exception):
    """A gallery problem worth one clear line to the user (no key, wrong key, damaged file)."""


@dataclass
class Person:
    """An enrolled person: the id the cloud sees, a role, and the face encodings (which it never sees)."""

    id: str
    role: Role
    encodings: list[Encoding] = field(repr=False)


@dataclass
class Unknown:
    """An anonymous visitor of this month: a random id and the encodings seen."""

    id: str
    encodings: list[Encoding] = field(repr=False)


def _passphrase_file(path: Path) -> str:
    try:
        info = path.stat()
        value = path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise GalleryError(f"{KEY_FILE_ENV}: cannot read {path} ({exc.__class__.__name__})") from None
    if info.st_mode & 0o077:
        mode = f"{info.st_mode & 0o777:o}"
        raise GalleryError(f"{KEY_FILE_ENV}: {path} is readable by others (mode {mode}): chmod 600 it")
    return value


def passphrase_from_env(env: Mapping[str, str] | None = None) -> str:
    """The gallery passphrase, from `ELDERCARE_GALLERY_KEY` or the file `ELDERCARE_GALLERY_KEY_FILE` names, or a
    GalleryError saying why there is none."""
    environ = os.environ if env is None else env
    value, key_file = environ.get(KEY_ENV, ""), environ.get(KEY_FILE_ENV, "")
    if value and key_file:
        raise GalleryError(f"both {KEY_ENV} and {KEY_FILE_ENV} are set: keep one, so it is clear which key is used")
    if key_file:
        value = _passphrase_file(Path(key_file))
        if not value:
            raise GalleryError(f"{KEY_FILE_ENV}: {key_file} is empty")
    if not value:
        raise GalleryError(
            f"{KEY_ENV} is not set: the face gallery is encrypted with a key derived from it "
            f"(or name a file holding it in {KEY_FILE_ENV})"
        )
    if len(value) < MIN_PASSPHRASE:
        raise GalleryError(f"{KEY_ENV} is too short: use at least {MIN_PASSPHRASE} characters")
    if value.strip().lower() in KNOWN_PASSPHRASES or "change-me" in value.lower():
        raise GalleryError(f"{KEY_ENV} is a placeholder or an example anyone can guess: choose this station's own")
    return value


def new_anon_id() -> str:
    """A fresh anonymous id: random, never derived from the face."""
    return f"anon-{secrets.token_hex(6)}"


def _write_private(path: Path, data: bytes) -> None:
    # Write then rename, so a power cut never leaves half a gallery.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


class Gallery:
    """Encrypted reads and writes of one gallery directory."""

    def __init__(self, directory: Path, passphrase: str) -> None:
        self.directory = directory
        self._passphrase = passphrase.encode()
        self._fernet: Fernet | None = None

    def _cipher(self, create: bool) -> Fernet:
        if self._fernet is not None:
            return self._fernet
        params_path = self.directory / "kdf.json"
        if params_path.exists():
            params = json.loads(params_path.read_text())
        elif create:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            params = {
                "kdf": "scrypt",
                "n": SCRYPT_N,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": base64.b64encode(secrets.token_bytes(16)).decode(),
            }
            _write_private(params_path, json.dumps(params).encode())
        else:
            raise GalleryError(f"no face gallery in {self.directory} (enrol someone first)")
        kdf = Scrypt(salt=base64.b64decode(params["salt"]), length=32, n=params["n"], r=params["r"], p=params["p"])
        self._fernet = Fernet(base64.urlsafe_b64encode(kdf.derive(self._passphrase)))
        return self._fernet

    def _read(self, name: str) -> dict[str, Any] | None:
        path = self.directory / name
        if not path.exists():
            return None
        try:
            plain = self._cipher(create=False).decrypt(path.read_bytes())
        except InvalidToken:
            raise GalleryError(f"{KEY_ENV} does not decrypt {path} (wrong passphrase, or a damaged file)") from None
        data: dict[str, Any] = json.loads(plain)
        return data

    def _write(self, name: str, data: dict[str, Any]) -> None:
        token = self._cipher(create=True).encrypt(json.dumps(data).encode())
        _write_private(self.directory / name, token)

    def version(self) -> tuple[int, int, int] | None:
        """What identifies the current enrolled-people file (inode, size, mtime): it changes when `enrol` or `forget`
        rewrite it (always by rename), so a running camera knows to reload. None when nobody was ever enrolled."""
        try:
            info = (self.directory / "people.enc").stat()
        except FileNotFoundError:
            return None
        return info.st_ino, info.st_size, info.st_mtime_ns

    def check_key(self) -> None:
        """Fail now, with one clear line, if the passphrase does not open this gallery."""
        self._read("people.enc")

    def people(self) -> list[Person]:
        """Everyone enrolled (empty when no one is)."""
        return self.enrolled()[0]

    def model(self) -> str | None:
        """The face model the enrolled encodings came from; None when nobody was ever enrolled."""
        return self.enrolled()[1]

    def enrolled(self) -> tuple[list[Person], str | None]:
        """Everyone enrolled and the face model of their encodings (None when nobody was ever enrolled), read at
        once so that the two always belong together."""
        data = self._read("people.enc")
        if data is None:
            return [], None
        people = [Person(id=p["id"], role=p["role"], encodings=p["encodings"]) for p in data["people"]]
        return people, str(data.get("model", LEGACY_MODEL))

    def save_people(self, people: list[Person], model: str) -> None:
        """Replace the enrolled people, whose encodings come from `model`. Enrolling afresh with another model drops
        this month's unknown visitors too: their encodings could no longer be compared."""
        if self.model() not in (None, model):
            self.purge_unknowns(keep="")
        rows = [{"id": p.id, "role": p.role, "encodings": p.encodings} for p in people]
        self._write("people.enc", {"version": 1, "model": model, "people": rows})

    def enrol(self, person: Person, model: str) -> bool:
        """Add or replace one person (encodings of `model`); True when they were already enrolled. Refused
        (GalleryError) when the gallery holds others enrolled with another model."""
        people, current = self.enrolled()
        others = [p for p in people if p.id != person.id]
        if others and current != model:
            raise GalleryError(
                f"{self.directory} holds {len(others)} people enrolled with the {current} face model, which cannot "
                f"be compared with {model} encodings"
            )
        self.save_people([*others, person], model)
        return len(others) < len(people)

    def forget(self, person_id: str) -> bool:
        """Delete one person and their encodings; False when they were not enrolled."""
        people, model = self.enrolled()
        kept = [p for p in people if p.id != person_id]
        if len(kept) == len(people) or model is None:
            return False
        self.save_people(kept, model)
        for path in self.directory.glob("visits-*.enc"):  # nothing of theirs is left, not even when they last came
            camera = path.name.removeprefix("visits-").removesuffix(".enc")
            book = self.visit_book(camera)
            if book.pop(person_id, None) is not None:
                self.save_visit_book(camera, book)
        return True

    def unknowns(self, month: str, model: str | None = None) -> list[Unknown]:
        """This month's anonymous visitors (only those remembered with `model`, when given: encodings of another
        model cannot be compared); deletes the files of earlier months (the monthly purge)."""
        self.purge_unknowns(keep=month)
        data = self._read(f"unknown-{month}.enc") or {"unknown": []}
        if model is not None and data.get("model", LEGACY_MODEL) != model:
            return []
        return [Unknown(id=u["id"], encodings=u["encodings"]) for u in data["unknown"]]

    def save_unknowns(self, month: str, unknowns: list[Unknown], model: str) -> None:
        """Replace the month's anonymous visitors (encodings of `model`)."""
        rows = [{"id": u.id, "encodings": u.encodings} for u in unknowns]
        self._write(f"unknown-{month}.enc", {"version": 1, "month": month, "model": model, "unknown": rows})
        self.purge_unknowns(keep=month)

    def visit_book(self, camera: str) -> dict[str, float]:
        """The visits camera `camera` last kept (person id -> last sighting, epoch seconds); empty when it kept
        none. Encrypted like the rest: who was at the station when is personal information."""
        data = self._read(f"visits-{camera}.enc") or {}
        return {str(person): float(t) for person, t in (data.get("last") or {}).items()}

    def save_visit_book(self, camera: str, last: dict[str, float]) -> None:
        """Keep camera `camera`'s open visits, for the next start of the agent."""
        self._write(f"visits-{camera}.enc", {"version": 1, "last": last})

    def purge_unknowns(self, keep: str) -> list[Path]:
        """Delete the unknown-visitor files of every month but `keep` (YYYY-MM); returns what was deleted."""
        gone = [p for p in self.directory.glob("unknown-*.enc") if p.name != f"unknown-{keep}.enc"]
        for path in gone:
            path.unlink(missing_ok=True)
        return gone
