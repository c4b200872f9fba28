"""Home-care complaints (投诉) about a provider: recorded and decided valid or not (有效投诉) by the bureau or a
town, with who, when and why; the provider reads its own. A complaint is a town's by the elder it is about (not by
the provider, who may serve several towns): a town records, reads and decides only those about its towns' elders.
"""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from fastapi import Path as PathParam
from pydantic import BaseModel, Field
from sqlalchemy import select

from cloud.api.deps import ConfigDep, SessionDep
from cloud.api.errors import homecare_refusals
from cloud.api.homecare_deps import Manager, Note, Supervisor, now
from cloud.api.moments import Moment
from cloud.api.scope import homecare_complaint_condition
from cloud.homecare import supervise
from cloud.homecare.store.registry import get_elder, get_provider
from cloud.homecare.store.visits import get_visit
from cloud.store.homecare import Complaint, row_dict

router = APIRouter(prefix="/homecare", tags=["homecare"])


class ComplaintIn(BaseModel):
    provider: Annotated[str, Field(min_length=1, max_length=63)]
    elder: Annotated[str | None, Field(max_length=63)] = None
    visit: Annotated[str | None, Field(min_length=8, max_length=64)] = None
    received_at: Moment
    text: Note


class DecisionIn(BaseModel):
    valid: bool
    reason: Note


@router.get("/complaints")
def complaints(user: Manager, session: SessionDep) -> list[dict[str, Any]]:
    rows = session.scalars(select(Complaint).where(homecare_complaint_condition(user))
                           .order_by(Complaint.received_at.desc()).limit(1000))
    return [row_dict(c) for c in rows]


@router.post("/complaints", status_code=status.HTTP_201_CREATED)
def add_complaint(body: ComplaintIn, user: Supervisor, session: SessionDep) -> dict[str, Any]:
    """The bureau may record one about no elder (district-wide: in the bureau's and the provider's figures); a town
    names the elder or the visit, of its towns, or it could neither find nor decide its own complaint again."""
    if user.role != "bureau" and not body.elder and not body.visit:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "name the elder (or the visit) the complaint is about: a town's complaints are about "
                            "its own towns' elders")
    with homecare_refusals():
        get_provider(session, user, body.provider)
        elder = get_elder(session, user, body.elder).id if body.elder else None
        visit = get_visit(session, user, body.visit) if body.visit else None
        row = supervise.record_complaint(session, provider_id=body.provider, text=body.text, by=user.name,
                                         received_at=body.received_at, elder_id=elder, visit=visit)
    session.commit()
    return row_dict(row)


@router.post("/complaints/{complaint_id}/decision")
def decide(complaint_id: Annotated[int, PathParam(ge=1, le=2**31 - 1)], body: DecisionIn, user: Supervisor,
           session: SessionDep, config: ConfigDep) -> dict[str, Any]:
    """Whether the complaint is valid (有效投诉), with the reason; a later decision replaces it, saying who."""
    row = session.scalars(select(Complaint).where(Complaint.id == complaint_id,
                                                  homecare_complaint_condition(user))).first()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no complaint {complaint_id} in your scope")
    with homecare_refusals():
        supervise.decide_complaint(row, valid=body.valid, by=user.name, reason=body.reason, now=now(config))
    session.commit()
    return row_dict(row)
