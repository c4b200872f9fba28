"""The ingester's paho transport: buffered reads and shared property tables behave exactly like paho's own."""

import socket

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from cloud.ingest.transport import BufferedSocket, SharedTableProperties


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
