import pytest

from station_protocol import Kind, ProtocolError, parse_topic
from station_protocol.topics import agent_topic, command_topic, device_topic


@pytest.mark.parametrize("kind", ["flow", "door", "face", "call", "health"])
def test_device_topic_round_trip(kind: str) -> None:
    topic = device_topic("qd-huilong-01", "door-1", kind)
    assert str(topic) == f"eldercare/v1/qd-huilong-01/door-1/{kind}"
    assert parse_topic(str(topic)) == topic


def test_agent_and_command_topics() -> None:
    assert str(agent_topic("s1", "status")) == "eldercare/v1/s1/agent/status"
    assert parse_topic("eldercare/v1/s1/agent/heartbeat").kind is Kind.HEARTBEAT
    cmd = parse_topic("eldercare/v1/s1/cmd/call-ack")
    assert cmd.kind is Kind.COMMAND and cmd.command == "call-ack" and cmd == command_topic("s1", "call-ack")
    assert parse_topic("eldercare/v1/s1/agent/status").retained
    assert parse_topic("eldercare/v1/s1/d1/health").retained
    assert not parse_topic("eldercare/v1/s1/d1/flow").retained


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("eldercare/v1/+/door-1/door", "station id '+' contains '+'"),
        ("eldercare/v1/#/door-1/door", "station id '#' contains '#'"),
        ("eldercare/v1/s1/+/door", "device id '+' contains '+'"),
        ("eldercare/v1//door-1/door", "station id is empty"),
        ("eldercare/v1/s1//door", "device id is empty"),
        ("eldercare/v1/Station/door-1/door", "station id 'Station' contains 'S'"),
        ("eldercare/v1/" + "a" * 64 + "/door-1/door", "64 characters long; at most 63"),
        ("eldercare/v1/s1/door-1/x/door", "must have 5 levels"),
        ("eldercare/v1/s1/door", "must have 5 levels"),
        ("eldercare/v2/s1/d/door", "does not start with eldercare/v1/"),
        ("eldercare/v1/s1/agent/door", "agent topic type 'door'"),
        ("eldercare/v1/s1/d1/smell", "message type 'smell' is not one of"),
        ("eldercare/v1/-s1/d1/door", "must start with a letter or digit"),
        ("eldercare/v1/s1/d_1/door", "contains '_'"),
    ],
)
def test_hostile_topics_are_refused_with_the_reason(topic: str, expected: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_topic(topic)
    assert expected in str(info.value)


def test_63_character_id_is_the_limit() -> None:
    assert parse_topic("eldercare/v1/" + "a" * 63 + "/d1/door").station == "a" * 63


@pytest.mark.parametrize("device", ["agent", "cmd", "Door", "", "a/b", "+"])
def test_building_a_topic_refuses_reserved_and_bad_device_ids(device: str) -> None:
    with pytest.raises(ProtocolError):
        device_topic("s1", device, "door")


@pytest.mark.parametrize("station", ["eldercare-ingest", "eldercare-worker", "agent", "cmd", "eldercare"])
def test_a_topic_for_a_reserved_station_id_is_refused(station: str) -> None:
    with pytest.raises(ProtocolError, match="reserved"):
        parse_topic(f"eldercare/v1/{station}/door-1/door")
