"""Home-care work orders (工单): listed in the user's scope (a caregiver's own only), and voided (作废单) by the
bureau, a town or the provider when they fail the duration or quality rules.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from cloud.api.deps import ConfigDep, SessionDep
from cloud.api.errors import homecare_refusals
from cloud.api.homecare_deps import Filter, HomecareUser, Key, Manager, Note, now
from cloud.api.moments import Moment
from cloud.homecare.store.visits import get_visit, visits_query, void_visit
from cloud.store.homecare import HomecareVisit, row_dict

router = APIRouter(prefix="/homecare", tags=["homecare"])


def _visit_out(v: HomecareVisit) -> dict[str, Any]:
    out = row_dict(v)
    out.pop("id")
    return out


@router.get("/visits")
def visits(user: HomecareUser, session: SessionDep,
           start: Annotated[Moment | None, Query(alias="from")] = None,
           end: Annotated[Moment | None, Query(alias="to")] = None, provider: Filter = None,
           elder: Filter = None, caregiver: Filter = None, newest_first: bool = False,
           limit: Annotated[int, Query(ge=1, le=5000)] = 1000) -> list[dict[str, Any]]:
    """Work orders signed in within [from, to), oldest first (or newest first); a caregiver sees only their own."""
    query = visits_query(user, start=start, end=end, provider=provider, elder=elder, caregiver=caregiver)
    if newest_first:
        query = query.order_by(None).order_by(HomecareVisit.sign_in_at.desc(), HomecareVisit.id.desc())
    return [_visit_out(v) for v in session.scalars(query.limit(limit))]


class VoidIn(BaseModel):
    reason: Note


@router.post("/visits/{key}/void")
def void(key: Key, body: VoidIn, user: Manager, session: SessionDep, config: ConfigDep) -> dict[str, Any]:
    """Void a work order that fails the duration or quality rules (作废单); it is kept and counts nowhere."""
    with homecare_refusals():
        visit = get_visit(session, user, key)
        void_visit(visit, user.name, body.reason, now(config))
    session.commit()
    return _visit_out(visit)
