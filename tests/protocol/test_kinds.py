"""The one table of message kinds: every kind a station sends has an entry, and the cloud reads a stored message
exactly as it reads the decoded one."""

import json
from datetime import UTC, datetime

import pytest

from cloud.rules.observations import from_message, from_row
from station_protocol import Kind, decode, encode
from station_protocol.asyncapi import build
from station_protocol.codec import MODELS
from station_protocol.kinds import KINDS
from tests.protocol.payloads import examples

SENT = [(topic, payload) for topic, payload in examples().items() if "/cmd/" not in topic]


def test_every_kind_a_station_sends_has_one_entry() -> None:
    assert set(KINDS) == set(Kind) - {Kind.COMMAND}
    assert {kind: spec.model for kind, spec in KINDS.items()} == MODELS
    assert {topic.rsplit("/", 1)[1] for topic, _ in SENT} == {kind.value for kind in KINDS}


def test_the_asyncapi_document_takes_each_summary_from_the_table() -> None:
    messages = build()["components"]["messages"]
    for kind, spec in KINDS.items():
        assert messages[kind.value]["summary"] == spec.summary


@pytest.mark.parametrize(("topic", "payload"), SENT, ids=[t.rsplit("/", 1)[1] for t, _ in SENT])
def test_stored_and_decoded_messages_give_the_same_observation(topic: str, payload: dict[str, object]) -> None:
    decoded = decode(topic, json.dumps(payload), now=datetime(2026, 10, 12, 1, tzinfo=UTC))
    stored = json.loads(encode(decoded.message))
    live = from_message(decoded.message, "e-1")
    assert live is not None
    assert from_row(decoded.message.ts, decoded.topic.kind.value, decoded.topic.device, "e-1", stored) == live


@pytest.mark.parametrize(("topic", "payload"), SENT, ids=[t.rsplit("/", 1)[1] for t, _ in SENT])
def test_every_kind_has_telemetry_fields(topic: str, payload: dict[str, object]) -> None:
    decoded = decode(topic, json.dumps(payload), now=datetime(2026, 10, 12, 1, tzinfo=UTC))
    tags, fields = KINDS[decoded.topic.kind].telemetry(decoded.message)
    assert fields
    assert all(isinstance(value, str) for value in tags.values())
