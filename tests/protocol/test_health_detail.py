"""A health report's `detail` is a flat map of a few short values: what real agents send passes; a face encoding,
an image, or anything nested or large is refused naming the field (faces never leave the station)."""

import base64
import hashlib
import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from station_protocol import Health, ProtocolError, decode
from tests.conftest import FACES
from tests.protocol.payloads import STATION, event

NOW = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)
HEALTH = f"eldercare/v1/{STATION}/cam-1/health"
ENCODING = [round(0.0123 * i - 0.7, 6) for i in range(128)]  # what face_recognition hands out

# What the reference agent sends (edge/): a camera's periodic report (edge/face/runner.py, with every counter of
# edge/face/pipeline.Stats near its largest), the outbox's after a damaged file, a counter's, a door's, a driver
# restarted by the supervisor, the keeper's, and the marker the outbox puts in place of a detail it cannot send.
AGENT_DETAILS: list[dict[str, Any]] = [
    {"source": "rtsp://***@192.168.10.64:554/Streaming/Channels/101?transportmode=unicast&profile=Profile_1",
     **{name: 2_000_000_000 for name in ("frames", "gated_out", "between_looks", "faces", "encodings", "observations",
                                         "errors", "smallest_face_px", "largest_face_px", "faces_under_60px",
                                         "faces_60_99px", "faces_100_149px", "faces_150px_up")},
     "fps": 12.34, "ended": True},
    {"moved_to": "/var/lib/eldercare/qd-huilong-01/outbox.db.damaged-20261012T083000Z-2", "salvaged": 555,
     "pending_restored": 12, "pending_skipped": 1, "pending_problem": "line 7: " + "not an event; " * 20},
    {"port": "/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0", "unit": 247},
    {"pin": 17, "changes": 40},
    {"restarts": 6},
    {"kept": 1200},
    {"dropped": 1000, "lost": 3},
    {"truncated": True, "bytes": 100_012},
    {"note": "门 \"东\"", "battery_v": 3.3, "error_code": None},
]


def _problems(detail: Any) -> list[str]:
    with pytest.raises(ProtocolError) as info:
        decode(HEALTH, json.dumps(event("cam-1", ok=True, detail=detail)), now=NOW)
    return info.value.problems


@pytest.mark.parametrize("detail", AGENT_DETAILS)
def test_what_the_reference_agent_sends_passes(detail: dict[str, Any]) -> None:
    message = decode(HEALTH, json.dumps(event("cam-1", ok=False, error="stream lost", detail=detail)), now=NOW).message
    assert isinstance(message, Health) and message.detail == detail


def test_a_face_encoding_is_refused() -> None:
    assert _problems({"encoding": ENCODING}) == [
        "detail.encoding: a list is not allowed (detail is a flat map of names to strings, numbers, true/false or "
        "null)"]
    # Spread over 128 keys, it is too many keys (and too large).
    problems = _problems({f"e{i}": value for i, value in enumerate(ENCODING)})
    assert problems[0].startswith("detail: 128 keys (at most 32)"), problems


def test_an_image_as_base64_is_refused() -> None:
    photo = base64.b64encode((FACES / "obama_1.jpg").read_bytes()).decode()
    problems = _problems({"snapshot": photo})
    assert problems[0].startswith(f"detail.snapshot: {len(photo)} characters (at most 300)"), problems


@pytest.mark.parametrize(
    "blob",
    [
        base64.b64encode(random.Random(1).randbytes(128)).decode(),  # an int8 encoding
        base64.urlsafe_b64encode(random.Random(2).randbytes(67)).decode(),
        random.Random(3).randbytes(128).hex(),  # the same as hex
        random.Random(4).randbytes(65).hex().upper(),
        "crop=" + base64.b64encode(random.Random(5).randbytes(96)).decode() + " end",
    ],
)
def test_a_short_blob_of_encoded_binary_is_refused(blob: str) -> None:
    assert len(blob) <= 300
    assert _problems({"data": blob}) == [
        "detail.data: looks like encoded binary data (base64 or hex); images, crops and face encodings never leave "
        "the station"]


@pytest.mark.parametrize(
    "text",
    [
        hashlib.sha256(b"firmware").hexdigest(),
        hashlib.sha512(b"firmware").hexdigest(),
        base64.b64encode(hashlib.sha512(b"firmware").digest()).decode(),
        "-".join(str(uuid.UUID(int=random.Random(6).getrandbits(128))) for _ in range(4)),
        "/home/pi/eldercare-station/recordings_2026/Front_Door_Camera/Session0001/Channel_02/Stream_Main/video",
        "modbus timeout on /dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0 (unit 3, 9600 baud)",
    ],
)
def test_digests_paths_and_ids_are_not_taken_for_binary(text: str) -> None:
    message = decode(HEALTH, json.dumps(event("cam-1", ok=True, detail={"text": text})), now=NOW).message
    assert isinstance(message, Health) and message.detail == {"text": text}


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        ({"vendor": {"fw": "1.2"}}, "detail.vendor: an object is not allowed"),
        ({f"k{i}": i for i in range(33)}, "detail: 33 keys (at most 32)"),
        ({"k" * 65: 1}, "detail: a key of 65 characters (at most 64)"),
        ({"": 1}, "detail: an empty key"),
        ({"big": 2**53 + 1}, "detail.big: 9007199254740993 is beyond ±2⁵³"),
        ({f"text{i}": "x" * 250 for i in range(10)}, "detail: "),
        ([1, 2], "detail must be a JSON object"),
    ],
)
def test_what_is_not_a_flat_map_of_short_values_is_refused(detail: Any, expected: str) -> None:
    problems = _problems(detail)
    assert any(p.startswith(expected) for p in problems), problems


def test_the_whole_detail_is_bounded() -> None:
    problems = _problems({f"text{i}": "x" * 250 for i in range(10)})
    assert problems == ["detail: 2611 bytes as JSON (at most 2048)"]
