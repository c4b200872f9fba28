"""Messages the platform lost: windows in which an ingester's share of the shared subscription went with a session
the broker no longer had (revision `0014_ingest_losses`).

The stations were acknowledged long before, and their outboxes deleted what they sent, so nothing can bring those
messages back. The derivations read these windows so that a day or a spot check inside one is never held against a
station for what the platform failed to keep.
"""

from datetime import datetime

from sqlalchemy import Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.store.models import Base, UTCDateTime


class IngestLoss(Base):
    """One window [lost_from, lost_to] (UTC) in which a share of every station's messages may have been lost."""

    __tablename__ = "ingest_losses"
    __table_args__ = (Index("ix_ingest_losses_window", "lost_from", "lost_to"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(Text, doc="the ingester whose session was gone")
    lost_from: Mapped[datetime] = mapped_column(UTCDateTime, doc="when it last stopped, or last connected")
    lost_to: Mapped[datetime] = mapped_column(UTCDateTime, doc="when it connected again and found no session")
    reason: Mapped[str] = mapped_column(Text, doc="lost_while_away, lost_while_running or history_unknown")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
