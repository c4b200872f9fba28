"""Tables of the local calendar and of what the worker has applied (revision 0005_calendar).

`holiday_files` keeps every accepted version of the bureau's holiday file; the newest row is the calendar in force for
the worker, the API and `cloud rederive`. `applied_at` is set once the worker has marked the days it changes for
recomputation. `applied_exceptions` mirrors the approved closures as the worker last applied them, so a closure
added, changed or withdrawn by any means (API, SQL, an import) is noticed and its day recomputed, even across
restarts.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cloud.store.models import Base, UTCDateTime, utcnow


class HolidayFile(Base):
    """One accepted version of the holiday file, as validated CSV text (`date,kind,name`)."""

    __tablename__ = "holiday_files"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20), doc="'upload' (dashboard) or 'setting' (ELDERCARE_HOLIDAYS_FILE)")
    path: Mapped[str | None] = mapped_column(Text, doc="the file a 'setting' version was read from")
    uploaded_by: Mapped[str | None] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AppliedException(Base):
    """An approved closure as the worker last recomputed it."""

    __tablename__ = "applied_exceptions"

    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
