"""The protocol decoder under hostile topics and payloads (hypothesis): it returns a valid message or raises
ProtocolError with at least one reason, never anything else; and the ingester's convert() turns the same input into an
event or a dead letter with a reason. tests/protocol fuzzes random bytes and field mutations on one topic; this adds
topic fuzzing and the structural attacks a JSON parser meets: deep nesting, huge numbers, duplicate keys, lone
surrogates, a byte-order mark, NUL bytes."""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.convert import Accepted, Ignored, Rejected, StationInfo, convert
from station_protocol import ProtocolError, decode

INFO = StationInfo("qd-a", "汇龙镇", "3A", ZoneInfo("Asia/Shanghai"))
NOW = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)
VALID = {"v": 1, "id": "01a20674-c881-75d3-93b0-05392494afb7", "station": "qd-a", "device": "door-1", "seq": 1,
         "ts": "2026-10-12T08:31:05.120+08:00", "state": "open"}

segments = st.sampled_from(["qd-a", "door-1", "agent", "cmd", "+", "#", "", "QD-A", "a" * 64, "qd-a\x00", "é",
                            "door", "flow", "face", "call", "health", "status", "heartbeat", "call-ack", "..", " "])
topics = st.one_of(
    st.lists(segments, min_size=1, max_size=7).map(lambda parts: "eldercare/v1/" + "/".join(parts)),
    st.text(max_size=80),
    st.sampled_from(["eldercare/v1/qd-a/door-1/door", "eldercare/v1/qd-a/agent/status",
                     "eldercare/v1/qd-a/cmd/call-ack"]),
)


def _nested(depth: int, kind: str) -> bytes:
    return (b"[" * depth + b"]" * depth) if kind == "list" else (b'{"a":' * depth + b"1" + b"}" * depth)


structural = st.one_of(
    st.builds(_nested, st.integers(1, 30_000), st.sampled_from(["list", "dict"])),
    st.builds(lambda digits: json.dumps({**VALID, "seq": 0}).replace('"seq": 0', f'"seq": {digits}').encode(),
              st.text("0123456789", min_size=1, max_size=5000)),
    st.builds(lambda key, value: (json.dumps(VALID)[:-1] + f', "{key}": {json.dumps(value)}}}').encode(),
              st.sampled_from(list(VALID)), st.none() | st.integers() | st.text(max_size=10)),
    st.sampled_from([b"\xef\xbb\xbf" + json.dumps(VALID).encode(), json.dumps(VALID).encode() + b"\x00",
                     b'{"v": 1e999}', b'{"v": NaN}', b'{"v": Infinity}', '"\ud800"'.encode("utf-8", "surrogatepass"),
                     json.dumps({**VALID, "state": "\ud800"}).encode(), b"\xff\xfe", b"{" * 3 + b"}"]),
    st.binary(max_size=300),
)


@given(topics, structural)
@settings(max_examples=400, deadline=None)
def test_decode_answers_or_refuses_with_a_reason(topic: str, payload: bytes) -> None:
    try:
        decoded = decode(topic, payload, now=NOW)
    except ProtocolError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return
    assert getattr(decoded.message, "station", "qd-a") == decoded.topic.station


@given(topics, structural)
@settings(max_examples=200, deadline=None)
def test_convert_stores_or_dead_letters_with_a_reason(topic: str, payload: bytes) -> None:
    outcome = convert(topic, payload, NOW, lambda s: INFO if s == "qd-a" else None)
    assert isinstance(outcome, Accepted | Rejected | Ignored)
    if isinstance(outcome, Rejected):
        assert outcome.reason and outcome.category
        assert "could not be processed" not in outcome.reason  # a real reason, not a caught crash
