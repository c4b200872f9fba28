"""The ingester's paho transport: buffered reads and shared property tables behave exactly like paho's own, the
private parts of paho it relies on still hold in the installed paho, and it still works when one does not."""

import logging
import socket
import threading

import paho.mqtt
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cloud.ingest import transport
from cloud.ingest.transport import BufferedSocket, IngestClient, SharedTableProperties, message_topic, paho_problems
from tests.localservices import Mosquitto
from tests.wait import poll


def _packed() -> bytes:
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.MessageExpiryInterval = 30
    props.ContentType = "application/json"
    props.UserProperty = [("site", "qd"), ("fw", "1.2")]
    packed: bytes = props.pack()  # type: ignore[no-untyped-call]
    return packed


def test_shared_table_properties_unpack_and_clear_like_paho() -> None:
    stock = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    shared = SharedTableProperties(PacketTypes.PUBLISH)
    assert stock.unpack(_packed())[1] == shared.unpack(_packed())[1]  # type: ignore[no-untyped-call]
    assert str(shared) == str(stock) and shared.json()["UserProperty"] == [("site", "qd"), ("fw", "1.2")]  # type: ignore[no-untyped-call]
    shared.unpack(b"\x00")  # type: ignore[no-untyped-call]  # a packet without properties clears the previous ones
    assert shared.isEmpty() and str(shared) == "[]"  # type: ignore[no-untyped-call]
    with pytest.raises(Exception, match="Property name must be one of"):
        shared.NoSuchProperty = 1  # the same validation as paho's


def test_buffered_socket_serves_small_reads_from_one_large_read() -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    wrapped = BufferedSocket(a)
    b.sendall(b"\x30\x05hello\x40\x02")
    assert wrapped.recv(1) == b"\x30" and wrapped.pending() == 8
    assert wrapped.recv(1) == b"\x05" and wrapped.recv(5) == b"hello"
    assert wrapped.recv(100) == b"\x40\x02" and wrapped.pending() == 0
    with pytest.raises(BlockingIOError):  # nothing buffered, nothing on the wire: paho's "try later"
        wrapped.recv(1)
    b.close()
    assert wrapped.recv(1) == b""  # the peer closed: paho's "connection lost"
    wrapped.close()


def test_the_private_parts_of_paho_the_transport_relies_on_hold() -> None:
    # Fails on a paho release that moved one of them: read cloud/ingest/transport.py against that release before
    # moving the pin in pyproject.toml.
    problems = paho_problems()
    assert problems == [], f"paho-mqtt {paho.mqtt.__version__}: " + "; ".join(problems)


def test_a_missing_private_part_is_noticed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(mqtt.Client, "_packet_queue")
    monkeypatch.setattr(mqtt.Client, "_create_socket", None)
    monkeypatch.delattr(mqtt.Client, "_handle_on_message")
    problems = paho_problems()
    assert any("_packet_queue" in p for p in problems) and any("_create_socket" in p for p in problems)
    assert any("_handle_on_message" in p for p in problems)


def test_a_topic_that_is_not_utf8_keeps_its_bytes_escaped() -> None:
    assert message_topic(mqtt.MQTTMessage(1, b"eldercare/v1/qd-a/door-1/door")) == "eldercare/v1/qd-a/door-1/door"
    assert message_topic(mqtt.MQTTMessage(1, b"eldercare/v1/\xff\xfe/x")) == "eldercare/v1/\\xff\\xfe/x"


def _drain(broker: Mosquitto, count: int, filtered: str | None = None,
           client_id: str = "transport-test") -> tuple[IngestClient, list[mqtt.MQTTMessage]]:
    """An ingest client that may hold only two unacknowledged messages (MQTT 5 Receive Maximum) and acknowledges each
    with `ack_many`: all `count` messages arrive only if its acknowledgements reach the broker. With `filtered`, the
    messages on that topic come through a per-topic callback, which marks them `filtered` in their user data."""
    received: list[mqtt.MQTTMessage] = []
    subscribed = threading.Event()
    client = IngestClient(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                          manual_ack=True)

    def on_message(c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        received.append(message)
        client.ack_many([message.mid])

    def on_filtered(c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        message.payload = b"filtered " + message.payload
        on_message(c, _u, message)

    client.on_message = on_message
    if filtered is not None:
        client.message_callback_add(filtered, on_filtered)
    client.on_connect = lambda c, *_a: c.subscribe("t/#", qos=1)
    client.on_subscribe = lambda *_a: subscribed.set()
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.ReceiveMaximum = 2
    client.connect("127.0.0.1", broker.port, properties=props)
    client.loop_start()
    assert subscribed.wait(10), "subscription not acknowledged"
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    publisher.connect("127.0.0.1", broker.port)
    publisher.loop_start()
    for i in range(count):
        publish = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        publish.UserProperty = [("n", str(i))]
        publisher.publish(f"t/{i}", f"m{i}".encode(), qos=1, properties=publish).wait_for_publish(10)
    publisher.loop_stop()
    publisher.disconnect()
    poll(lambda: len(received) >= count, timeout=30, what=f"{count} messages through two ack slots")
    return client, received


def test_on_a_real_broker_the_private_parts_take_effect(mosquitto: Mosquitto) -> None:
    client, received = _drain(mosquitto, 20)
    try:
        assert isinstance(client.socket(), BufferedSocket)  # paho opened its socket through our hook
        assert all(isinstance(m.properties, SharedTableProperties) for m in received)  # paho built ours
        assert [m.payload for m in received] == [f"m{i}".encode() for i in range(20)]
        assert getattr(received[7].properties, "UserProperty", None) == [("n", "7")]
    finally:
        client.loop_stop()
        client.disconnect()


def test_a_per_topic_callback_still_gets_its_messages(mosquitto: Mosquitto) -> None:
    client, received = _drain(mosquitto, 6, filtered="t/3", client_id="transport-filtered")
    try:
        assert [m.payload for m in received] == [b"m0", b"m1", b"m2", b"filtered m3", b"m4", b"m5"]
    finally:
        client.loop_stop()
        client.disconnect()


def test_an_error_in_on_message_is_logged_and_raised_as_paho_does(caplog: pytest.LogCaptureFixture) -> None:
    client = IngestClient(CallbackAPIVersion.VERSION2, client_id="transport-error", protocol=mqtt.MQTTv5)
    client.enable_logger(logging.getLogger("paho-test"))

    def broken(*_a: object) -> None:
        raise ValueError("the callback broke")

    client.on_message = broken
    with caplog.at_level(logging.ERROR, logger="paho-test"), pytest.raises(ValueError, match="callback broke"):
        client._handle_on_message(mqtt.MQTTMessage(1, b"t/1"))
    assert "Caught exception in on_message: the callback broke" in caplog.text
    client.suppress_exceptions = True
    client._handle_on_message(mqtt.MQTTMessage(1, b"t/1"))  # logged, not raised


def test_without_the_private_parts_the_client_is_plain_paho_and_still_acknowledges(
        mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(transport, "paho_problems", lambda: ["Client._packet_queue(...) is gone or changed"])
    monkeypatch.setattr(mqtt, "Properties", Properties)  # as a process that never had the fast client
    with caplog.at_level(logging.WARNING, logger="cloud.ingest.transport"):
        client, received = _drain(mosquitto, 10)
    try:
        assert "plain client" in caplog.text and "_packet_queue" in caplog.text
        assert not isinstance(client.socket(), BufferedSocket)
        assert not any(isinstance(m.properties, SharedTableProperties) for m in received)
        assert [m.payload for m in received] == [f"m{i}".encode() for i in range(10)]
    finally:
        client.loop_stop()
        client.disconnect()
