"""Made-up months: an elder's month missed for a special reason (hospital, away), recorded with the reason so that
its shortfall is due the next month, and read back as typed records for the counting. The caller commits.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.homecare.records import MadeUpMonth, is_month
from cloud.homecare.store.errors import HomecareError, NotFound, checked_text
from cloud.store.homecare import HomecareElder, MadeUpMonthRow
from cloud.store.locks import upsert_row


def record_made_up_month(session: Session, elder_id: str, month: str, reason: str, by: str,
                         now: datetime) -> MadeUpMonthRow:
    """Record that `elder_id` could not be served in `month` (YYYY-MM) for a special reason: its shortfall may be
    made up in the next month."""
    if not is_month(month):
        raise HomecareError(f"month {month!r} must be YYYY-MM")
    reason = checked_text(reason, "why the elder could not be served that month")
    if session.get(HomecareElder, elder_id) is None:
        raise NotFound(f"no elder {elder_id!r}")
    row = upsert_row(session, MadeUpMonthRow, {"elder_id": elder_id, "month": month},
                     {"reason": reason, "recorded_by": by, "recorded_at": now})
    session.flush()
    return row


def made_up_months(session: Session, elder_ids: Iterable[str]) -> list[MadeUpMonth]:
    ids = list(elder_ids)
    if not ids:
        return []
    rows = session.scalars(select(MadeUpMonthRow).where(MadeUpMonthRow.elder_id.in_(ids)))
    return [MadeUpMonth(elder=r.elder_id, month=r.month, reason=r.reason, recorded_by=r.recorded_by) for r in rows]
