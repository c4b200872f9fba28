"""Write an audit entry in the caller's transaction: a change and its record commit or roll back together."""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from cloud.store.admin import AuditEntry
from cloud.store.users import User


def record(session: Session, user: User, action: str, target_kind: str, target: str, now: datetime, *,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    """Keep who (`user`), when (`now`), what (`action` on `target`) and the values before and after. Callers pass
    only the fields a person reads: never a password or its hash."""
    session.add(AuditEntry(at=now, actor=user.name, actor_role=user.role, action=action, target_kind=target_kind,
                           target=target, before=before, after=after))
