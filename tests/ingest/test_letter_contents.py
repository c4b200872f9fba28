"""What a dead letter keeps of a refused payload: enough to see what a device sent, never a face. A vendor's camera
that publishes a JPEG crop, or a face encoding, in a message the cloud refuses would otherwise leave its first 4 KiB
(a whole small crop, or a whole encoding) in the store for the letters' 90 days."""

import base64
import hashlib
import json
from datetime import UTC, datetime

import cv2
import numpy as np

from cloud.convert import Rejected
from cloud.ingest.letters import Letter, letter_row
from cloud.store.letter_payload import LETTER_BINARY_BYTES, LETTER_KEEP_BYTES, kept
from tests.conftest import FACES

NOW = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)


def face_crop() -> bytes:
    """A real face cut from a real photograph and JPEG-encoded at 96 px, as a camera's crop is: a few KiB."""
    image = cv2.imread(str(FACES / "obama_1.jpg"))
    assert image is not None
    h, w = image.shape[:2]
    crop = cv2.resize(image[h // 8: h // 2, w // 3: 2 * w // 3], (96, 96))
    ok, jpeg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ok
    return bytes(jpeg.tobytes())


def test_a_raw_jpeg_crop_keeps_only_its_signature_and_headers() -> None:
    crop = face_crop()
    assert 1500 < len(crop) < LETTER_KEEP_BYTES  # the whole crop would have fitted in the old 4 KiB
    row = letter_row(Letter("eldercare/v1/qd-a/cam-1/face", crop, NOW, Rejected("invalid", "not JSON", "qd-a")))
    assert row["payload"] == crop[:LETTER_BINARY_BYTES] and row["payload"].startswith(b"\xff\xd8\xff")
    # No picture in what is kept: OpenCV decodes nothing from it.
    assert cv2.imdecode(np.frombuffer(row["payload"], np.uint8), cv2.IMREAD_COLOR) is None
    assert row["payload_size"] == len(crop) and row["payload_sha256"] == hashlib.sha256(crop).hexdigest()


def test_an_image_and_an_encoding_inside_json_are_replaced_by_their_lengths() -> None:
    photo = base64.b64encode(face_crop()).decode()
    encoding = [round(0.0123 * i - 0.7, 6) for i in range(128)]  # what face_recognition hands out
    payload = json.dumps({"v": 1, "station": "qd-a", "device": "cam-1", "role": "visitor?", "person": "elder-7",
                          "image_jpeg_b64": photo[:2000], "encoding": encoding}).encode()
    out = kept(payload).decode()
    assert photo[:40] not in out and "-0.6877" not in out and "0.5911" not in out
    assert '"role": "visitor?"' in out and '"person": "elder-7"' in out  # what a technician needs to see
    assert "<removed: 2000 characters of encoded binary data>" in out
    assert "<removed: 128 numbers>" in out


def test_an_encoding_cut_by_the_limit_is_still_removed() -> None:
    encoding = ", ".join(f"{0.0123 * i - 0.7:.17f}" for i in range(128))
    payload = ('{"v": 1, "note": "' + "x" * 3000 + '", "encoding": [' + encoding + "]}").encode()
    out = kept(payload).decode()
    assert len(payload) > LETTER_KEEP_BYTES and out.startswith('{"v": 1, "note": "xxx')
    assert "-0.6877" not in out and out.endswith("numbers>")


def test_ordinary_refused_messages_are_kept_as_sent() -> None:
    digest = hashlib.sha512(b"firmware").hexdigest()  # 128 hex digits: a digest, not a payload
    for payload in [b'{"v": 1, "station": "qd-a", "state": "ajar"}', b"not json at all",
                    json.dumps({"v": 1, "range": [1, 2, 3, 4, 5, 6, 7, 8], "fw": digest}).encode(),
                    json.dumps({"v": 1, "station": "qd-a", "note": "门磁故障"}, ensure_ascii=False).encode(), b""]:
        assert kept(payload) == payload


def test_text_cut_inside_a_character_keeps_the_whole_characters_before_it() -> None:
    payload = ("门" * 2000).encode()  # 3 bytes each: the 4 KiB limit falls inside the 1366th
    out = kept(payload)
    assert out == ("门" * (LETTER_KEEP_BYTES // 3)).encode()
    junk = b"\x00\x01\xfe\xff" * 2000
    assert kept(junk) == junk[:LETTER_BINARY_BYTES]
    assert kept(b"\x80") == b"\x80" and kept("门".encode()[:2]) == "门".encode()[:2]  # short: kept as sent
