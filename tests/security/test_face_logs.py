"""No face data and no gallery key in what the face commands print or log, at the most verbose log level: enrolment
and the camera pipeline run as real processes on real photos, and their whole output is searched."""

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.faults.conftest import ROOT

FACES = ROOT / "tests" / "data" / "faces"
KEY = "gallery-passphrase-never-logged-4242"
# A face encoding printed in any usual way: eight or more floats in a row.
ENCODING = re.compile(r"(?:-?\d\.\d{3,}(?:e-?\d+)?[,\s\]]+){8,}")


def _run(*args: str) -> str:
    env = {**os.environ, "ELDERCARE_GALLERY_KEY": KEY, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "eldercare", "-vv", "edge", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout + done.stderr


def test_face_commands_never_print_encodings_images_or_the_key(tmp_path: Path) -> None:
    from edge.face.facestack import enrolment_encoding  # the face extra: installed in CI
    from edge.face.models import DEFAULT_MODEL, model

    # The detector catches what it guards against: a real encoding of the photo used below (of the model `enrol`
    # uses for a new gallery), printed.
    encoding = [float(x) for x in enrolment_encoding(FACES / "obama_1.jpg", model(DEFAULT_MODEL).encode)]
    assert ENCODING.search(str(encoding)) and ENCODING.search(" ".join(f"{x:.4f}" for x in encoding))
    jpeg = (FACES / "obama_2.jpg").read_bytes()
    image_marks = [base64.b64encode(jpeg[:30]).decode()[:20], jpeg[:30].hex()[:20], "/9j/"]

    gallery = tmp_path / "gallery"
    output = _run("enrol", str(FACES / "obama_1.jpg"), "--gallery", str(gallery), "--id", "elder-0001",
                  "--role", "elder")
    output += _run("camera-test", str(FACES / "obama_2.jpg"), "--gallery", str(gallery), "--remember-unknowns")
    output += _run("camera-test", str(FACES / "obama_and_biden.jpg"), "--gallery", str(gallery),
                   "--remember-unknowns")
    output += _run("gallery", "--gallery", str(gallery))
    assert "elder-0001" in output and "anon-" in output  # it did recognise and anonymise: there was data to leak
    assert KEY not in output
    assert not ENCODING.search(output), ENCODING.search(output)
    assert not [mark for mark in image_marks if mark in output]
    stored = b"".join(p.read_bytes() for p in gallery.rglob("*") if p.is_file())
    assert KEY.encode() not in stored and b"\xff\xd8\xff" not in stored  # no key, no JPEG at rest either
