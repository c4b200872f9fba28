"""paho-mqtt's client with its socket read in large chunks and its acknowledgements sent in bulk.

paho reads each packet a byte or two at a time (the command byte, each remaining-length byte, then the rest): three
or more system calls and a select() per message, which is most of what a bare paho subscriber spends. Reading up to
64 KiB at once and serving paho from that buffer makes the same bytes cost one system call per many messages.
`pending()` is paho's own hook (it uses it for TLS and WebSockets): while bytes are buffered its loop reads on without
waiting in select().

Acknowledging a batch one `ack()` at a time queues one packet per message, each with a wake-up write to paho's socket
pair and its own send(); `ack_many` queues the batch's PUBACKs as one write, in the same order.

paho builds a `Properties` for every MQTT 5 packet it receives, and each one rebuilds paho's two lookup tables of every
property (some sixty dict entries) and then clears them name by name: about a tenth of the ingester's time per
message. `SharedTableProperties` is the same class with those read-only tables built once; the client installs it as
the one paho's client module uses (the same behaviour for every paho client in the process, only cheaper).
"""

import struct
from collections.abc import Iterable
from typing import Any, ClassVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties

CHUNK = 65536
READ_BURST = 1000


class BufferedSocket:
    """A connected (plain or TLS) socket whose reads are buffered; everything else passes through."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buffer = b""
        self._position = 0

    def recv(self, size: int) -> bytes:
        if self._position >= len(self._buffer):
            data = self._sock.recv(max(size, CHUNK))  # BlockingIOError / SSLWantReadError pass to paho as usual
            if len(data) <= size:
                self._buffer, self._position = b"", 0
                return bytes(data)
            self._buffer, self._position = data, 0
        start = self._position
        self._position = end = min(start + size, len(self._buffer))
        return self._buffer[start:end]

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._buffer) - self._position + int(inner)

    def send(self, data: bytes) -> int:
        return int(self._sock.send(data))

    def fileno(self) -> int:
        return int(self._sock.fileno())

    def close(self) -> None:
        self._sock.close()

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class SharedTableProperties(Properties):
    """paho's MQTT 5 properties, with the name and type tables shared by all instances (paho only reads them)."""

    _tables: ClassVar[dict[str, Any]] = {}
    _names: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, packetType: int) -> None:
        cls = SharedTableProperties
        if not cls._tables:
            model = Properties(packetType)  # type: ignore[no-untyped-call]
            cls._tables = {"types": model.types, "names": model.names, "properties": model.properties}
            cls._names = frozenset(name.replace(" ", "") for name in model.names)
        state = self.__dict__
        state["packetType"] = packetType
        state.update(cls._tables)

    def clear(self) -> None:
        """Remove every property set (what paho's clear() does by trying each name)."""
        state = self.__dict__
        for name in [name for name in state if name in SharedTableProperties._names]:
            del state[name]


class IngestClient(mqtt.Client):
    """paho's Client on a `BufferedSocket` (for every connection, reconnections included), with `ack_many`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        mqtt.Properties = SharedTableProperties  # type: ignore[attr-defined]  # the name paho's handlers use
        super().__init__(*args, **kwargs)

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Read on while whole packets are buffered (paho reads one per select() otherwise), at most a bounded
        number so that acks, pings and reconnects are served in between."""
        rc = super().loop_read(max_packets)
        for _ in range(READ_BURST):
            sock = self._sock
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or not isinstance(sock, BufferedSocket) or not sock.pending():
                break
            rc = super().loop_read(max_packets)
        return rc

    def ack_many(self, mids: Iterable[int]) -> None:
        """PUBACK these QoS 1 message ids, in this order (manual-ack mode), as one write."""
        packet = b"".join(PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids)
        if packet:
            # The PUBACK bytes are identical in MQTT 3.1.1 and 5 (reason code omitted = success); paho's own queue
            # keeps them in order with anything else it sends.
            self._packet_queue(mqtt.PUBACK, packet, 0, 0)


PUBACK = struct.Struct("!BBH")  # fixed header (PUBACK, remaining length 2), then the message id
