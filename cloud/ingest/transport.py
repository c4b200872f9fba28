"""paho-mqtt's client with its socket read in large chunks and its acknowledgements sent in bulk: the one module of the
cloud that touches paho's private interface, checked against the installed paho before it is used.

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

For every received message paho also walks its table of per-topic callbacks (`message_callback_add`), building a
generator over the topic's levels, before it calls `on_message`. The ingester never adds such a callback, so
`IngestClient` calls `on_message` directly, as paho does when that walk finds nothing; once a per-topic callback is
added it hands every message to paho's own dispatch again.

paho has no public way to do any of this, so it is done through names paho keeps private: `Client._create_socket`,
`Client._packet_queue`, the module-global `Properties` its packet handlers look up, `Properties`' lookup tables,
`Client._handle_on_message` with the `_in_callback_mutex` it holds around a callback, and `MQTTMessage._topic` (the
raw bytes of a topic that is not UTF-8). `paho_problems()` checks each of them against the
installed paho (tests/ingest/test_transport.py fails on a paho where one no longer holds). Should one be missing at run
time anyway, `IngestClient` logs it and runs as paho's plain client: slower, never wrong.
"""

import inspect
import logging
import struct
from collections.abc import Iterable
from typing import Any, ClassVar

import paho.mqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)

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


def _names(function: object) -> set[str]:
    """The global and attribute names a function's code (and the code nested in it) looks up."""
    code = getattr(function, "__code__", None)
    names: set[str] = set()
    todo = [code] if code is not None else []
    while todo:
        current = todo.pop()
        names.update(current.co_names)
        todo.extend(const for const in current.co_consts if inspect.iscode(const))
    return names


def paho_problems() -> list[str]:
    """What of paho's private interface this module relies on does not hold in the installed paho (empty: all does),
    one line each."""
    client, problems = mqtt.Client, []
    if not callable(getattr(client, "_create_socket", None)) or "_create_socket" not in _names(client.reconnect):
        problems.append("Client.reconnect no longer opens its socket through Client._create_socket")
    if "pending" not in _names(getattr(client, "_loop", None)):
        problems.append("Client._loop no longer asks its socket for pending() bytes before select()")
    queue = getattr(client, "_packet_queue", None)
    if queue is None or list(inspect.signature(queue).parameters)[:5] != ["self", "command", "packet", "mid", "qos"]:
        problems.append("Client._packet_queue(command, packet, mid, qos) is gone or changed")
    if getattr(mqtt, "Properties", None) not in (Properties, SharedTableProperties) or "Properties" not in _names(
            getattr(client, "_handle_publish", None)):
        problems.append("paho.mqtt.client no longer builds a received PUBLISH's properties from its global Properties")
    model = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    tables = (getattr(model, "types", None), getattr(model, "names", None), getattr(model, "properties", None))
    if not (isinstance(tables[0], list) and isinstance(tables[1], dict) and isinstance(tables[2], dict)):
        problems.append("Properties no longer keeps its lookup tables in types, names and properties")
    handler = getattr(client, "_handle_on_message", None)
    if (handler is None or list(inspect.signature(handler).parameters) != ["self", "message"]
            or "_handle_on_message" not in _names(getattr(client, "_handle_publish", None))
            or not {"_in_callback_mutex", "_userdata", "suppress_exceptions"} <= _names(client.__init__)):
        problems.append("Client._handle_publish no longer hands a message to _handle_on_message(message), or the "
                        "callback state it reads (_in_callback_mutex, _userdata, suppress_exceptions) moved")
    if "_topic" not in getattr(mqtt.MQTTMessage, "__slots__", ()):
        problems.append("MQTTMessage no longer keeps the raw topic in _topic")
    return problems


def message_topic(message: mqtt.MQTTMessage) -> str:
    """The message's topic; one that is not UTF-8 (a broken or hostile client) with its bad bytes escaped, so it can
    be dead-lettered under what was actually sent."""
    try:
        return message.topic
    except UnicodeDecodeError:
        raw = getattr(message, "_topic", None)
        if isinstance(raw, bytes):
            return raw.decode("utf-8", "backslashreplace")
        return "<topic not UTF-8>"


class IngestClient(mqtt.Client):
    """paho's Client on a `BufferedSocket` (for every connection, reconnections included), with `ack_many`; paho's
    plain client, with a warning, when `paho_problems()` finds something missing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        problems = paho_problems()
        self._fast = not problems
        if problems:
            log.warning("paho-mqtt %s: %s; ingest runs on paho's plain client (slower)", paho.mqtt.__version__,
                        "; ".join(problems))
        else:
            mqtt.Properties = SharedTableProperties  # type: ignore[attr-defined]  # the name paho's handlers use
        self._filtered = False  # a per-topic callback was added: paho's own dispatch
        super().__init__(*args, **kwargs)

    def message_callback_add(self, sub: str, callback: Any) -> None:
        self._filtered = True
        super().message_callback_add(sub, callback)

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        """What paho does when no per-topic callback matches: `on_message`, under paho's callback lock, its errors
        logged (and raised unless suppressed) as paho does."""
        on_message = self.on_message
        if self._filtered or not self._fast or on_message is None:
            super()._handle_on_message(message)
            return
        with self._in_callback_mutex:
            try:
                on_message(self, self._userdata, message)
            except Exception as err:
                self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                if not self.suppress_exceptions:
                    raise

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        return BufferedSocket(sock) if self._fast else sock

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Read on while whole packets are buffered (paho reads one per select() otherwise), at most a bounded
        number so that acks, pings and reconnects are served in between."""
        rc = super().loop_read(max_packets)
        for _ in range(READ_BURST):
            sock = self.socket()
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or not isinstance(sock, BufferedSocket) or not sock.pending():
                break
            rc = super().loop_read(max_packets)
        return rc

    def ack_many(self, mids: Iterable[int]) -> None:
        """PUBACK these QoS 1 message ids, in this order (manual-ack mode), as one write."""
        if not self._fast:
            for mid in mids:
                self.ack(mid, 1)
            return
        packet = b"".join(PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids)
        if packet:
            # The PUBACK bytes are identical in MQTT 3.1.1 and 5 (reason code omitted = success); paho's own queue
            # keeps them in order with anything else it sends.
            self._packet_queue(mqtt.PUBACK, packet, 0, 0)


PUBACK = struct.Struct("!BBH")  # fixed header (PUBACK, remaining length 2), then the message id
