"""How an ingester reaches the broker, batches its commits and keeps its session there: `IngestConfig`."""

from dataclasses import dataclass
from pathlib import Path

from station_protocol.topics import ROOT

# How long the broker keeps an ingester's session while it is away. Mosquitto deals a shared subscription's messages
# to a member's persistent session whether it is connected or not, and drops them with the session when it expires
# (they are never dealt again to another member), while the stations have long been acknowledged. Three days outlast
# a host that died on a Friday evening and is seen to on Monday; the broker holds the absent member's share in memory
# meanwhile (about 530 B a message in Mosquitto 2.0: ~1 GB a day for 1,000 stations shared by two ingesters).
DEFAULT_SESSION_EXPIRY_S = 3 * 86400
MAX_SESSION_EXPIRY_S = 30 * 86400  # a long holiday, for a broker with the memory for it


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """How to reach the broker and how to batch."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "eldercare-ingest"
    group: str = "ingest"
    mqtt_version: int = 5  # 5: shared subscription; 4 (3.1.1): plain subscription, one ingester only
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    batch_size: int = 500
    batch_ms: int = 200
    session_expiry_s: int = DEFAULT_SESSION_EXPIRY_S
    keepalive_s: int = 30
    # False for a broker that keeps no session across its restarts and is started together with this ingester
    # (`eldercare serve`'s embedded broker): nothing can be dealt to the ingester while it is away, so a first
    # connection without a session loses nothing.
    broker_keeps_sessions: bool = True

    @property
    def topic_filter(self) -> str:
        base = f"{ROOT}/#"
        return f"$share/{self.group}/{base}" if self.mqtt_version == 5 else base
