"""The windows in which the platform lost messages, for an audit: the file `eldercare cloud derive --losses` reads.

When an ingester comes back to a broker that no longer has its session, the messages the broker dealt to it
meanwhile are gone (the stations were acknowledged and deleted them). The ingester records the window; the worker
flags every station's days touching it and judges no spot check in it on the sensors. An auditor reproducing a
verdict with `derive` needs these windows as the worker had them.

They are the platform's, every station's alike, and hold no station's data (an ingester's client id and times): the
bureau and town officers may download them; station staff, who download no spot checks, have no use for them.
"""

import csv
import io
from datetime import UTC, datetime, time, timedelta

from fastapi import APIRouter, Response
from sqlalchemy import select

from cloud.api.deps import RulesDep, SessionDep, SupervisorUser
from cloud.api.routes.evidence import RESPONSES, FirstDay, LastDay, check_range
from cloud.api.sheets import safe_row
from cloud.derive.files import LOSS_COLUMNS
from cloud.store.ingest_losses import IngestLoss

router = APIRouter(prefix="/exports", tags=["exports"])

# A local day lies within a day of its UTC date in every zone: windows touching from..to in any station's zone.
MARGIN = timedelta(days=1)


@router.get("/ingest-losses.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}, **RESPONSES})
def export_ingest_losses(first: FirstDay, last: LastDay, _user: SupervisorUser, session: SessionDep,
                         rules: RulesDep) -> Response:
    """The windows of lost messages from the door lookback before the days `from`..`to` (in any station's zone) on,
    as `client_id,lost_from,lost_to,reason`, times in UTC (RFC 3339): those touching the days, the lookback before
    them (a door state carried across one is not evidence) and those since (a backlog of the days sent late after an
    outage may have lost some of their readings in one), as the worker reads them."""
    check_range(first, last)
    lo = datetime.combine(first, time(0), UTC) - MARGIN - timedelta(hours=rules.door_lookback_hours)
    rows = session.execute(select(IngestLoss.client_id, IngestLoss.lost_from, IngestLoss.lost_to, IngestLoss.reason)
                           .where(IngestLoss.lost_to > lo)
                           .order_by(IngestLoss.lost_from, IngestLoss.id))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LOSS_COLUMNS)
    for client_id, lost_from, lost_to, reason in rows:
        writer.writerow(safe_row([client_id, lost_from.astimezone(UTC).isoformat(),
                                  lost_to.astimezone(UTC).isoformat(), reason]))
    return Response(out.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="ingest-losses-{first}-{last}.csv"'})
