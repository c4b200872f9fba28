"""The ingesters that have connected to the broker, by MQTT client id (revision `0011_ingest_clients`).

The broker answers a connection with no session both for a client id it never saw and for one whose session it
dropped (expired, with every message it had dealt to it). Only the second loses data; this table is how an ingester
tells the two apart.
"""

from datetime import datetime

from sqlalchemy import Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.store.models import Base, UTCDateTime


class IngestClient(Base):
    """One ingester client id: when it first and last connected to the broker, when it was last seen working, when it
    last stopped gracefully, and the session expiry its last connection asked for."""

    __tablename__ = "ingest_clients"

    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    first_connected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_connected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True,
                                                             doc="its last graceful stop; not moved by a crash")
    last_alive_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True,
                                                           doc="last seen working (once a minute while connected)")
    session_expiry_s: Mapped[int | None] = mapped_column(Integer, nullable=True,
                                                         doc="the expiry its last connection asked for (MQTT 5)")
