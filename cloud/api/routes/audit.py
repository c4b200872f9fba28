"""The audit log (bureau only): who changed which station, user or appeal, when, and the values before and after."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from cloud.api.deps import BureauUser, SessionDep
from cloud.store.admin import AuditEntry

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    target_kind: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@router.get("", response_model=list[AuditOut])
def list_audit(
    user: BureauUser, session: SessionDep,
    target_kind: Annotated[Literal["station", "user", "appeal", "elder"] | None, Query()] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before_id: Annotated[int | None, Query(ge=1, le=2**62, description="page back: entries older than this id")] = None,
) -> list[AuditOut]:
    """Newest first."""
    query = select(AuditEntry)
    if target_kind is not None:
        query = query.where(AuditEntry.target_kind == target_kind)
    if target is not None:
        query = query.where(AuditEntry.target == target)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    rows = session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit))
    return [AuditOut(id=e.id, at=e.at, actor=e.actor, actor_role=e.actor_role, action=e.action,
                     target_kind=e.target_kind, target=e.target, before=e.before, after=e.after) for e in rows]
