"""The face stack must be really importable: `import face_recognition` can quit with status 0 (setuptools >= 81),
so these tests check that an encoding was actually computed, in a fresh interpreter."""

import subprocess
import sys
from pathlib import Path

import pytest

from edge.face.facestack import enrolment_encoding
from edge.face.synthetic import background
from tests.face.conftest import photo

ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_face_stack_imports_and_computes_an_encoding() -> None:
    code = (
        "import face_recognition, dlib, cv2, numpy\n"
        f"image = face_recognition.load_image_file({str(photo('obama_480p'))!r})\n"
        "encodings = face_recognition.face_encodings(image)\n"
        "print('ENCODINGS', len(encodings), len(encodings[0]), float(numpy.linalg.norm(encodings[0])) > 0.5)\n"
        "print('OPENCV', cv2.__version__)\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "ENCODINGS 1 128 True" in result.stdout, (result.stdout, result.stderr)
    # opencv-python-headless 5.x dropped 4.x APIs this code uses: the pin must hold.
    assert result.stdout.split("OPENCV ")[1].startswith("4."), result.stdout


def test_missing_models_is_an_error_not_a_silent_exit() -> None:
    # Without pkg_resources (setuptools >= 81) face_recognition prints a hint and calls quit(): status 0.
    code = (
        "import sys\n"
        "sys.modules['pkg_resources'] = None\n"
        "from edge.face import facestack\n"
        "try:\n"
        "    facestack.load()\n"
        "except facestack.FaceStackError as exc:\n"
        "    print('REFUSED', exc)\n"
        "    sys.exit(3)\n"
        "print('LOADED')\n"
    )
    result = run_python(code)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert "REFUSED face_recognition_models is not importable" in result.stdout


def test_enrolment_photo_needs_exactly_one_face(tmp_path: Path) -> None:
    import cv2

    empty = tmp_path / "wall.png"
    cv2.imwrite(str(empty), background())
    with pytest.raises(ValueError, match="no face found"):
        enrolment_encoding(empty)
    with pytest.raises(ValueError, match="3 faces found"):
        enrolment_encoding(photo("obama_and_biden"))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(ValueError, match="not a readable image"):
        enrolment_encoding(broken)
