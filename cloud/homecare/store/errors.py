"""What the home-care store refuses, and how: the error types (the message is one plain line), the free-text check
every writer shares, and the look-up that answers an absent row and one out of the user's scope alike.
"""

from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from cloud.homecare.records import free_text

Row = TypeVar("Row")


class HomecareError(ValueError):
    """A request the registry or the visit's state does not allow; the message is one plain line."""


class NotFound(HomecareError):
    """No such elder, provider, caregiver or visit (or not in the user's scope: the same answer)."""


class NotYours(HomecareError):
    """A record the user may see but not change (a town officer and the staff of a provider based elsewhere)."""


class VisitConflict(HomecareError):
    """The key names a visit already stored with different content: a replay must repeat what was sent."""


def checked_text(value: str, what: str) -> str:
    try:
        return free_text(value, what)
    except ValueError as exc:
        raise HomecareError(str(exc)) from None


def in_scope(session: Session, query: Select[tuple[Row]], missing: str) -> Row:
    """The one row `query` finds; NotFound when there is none (absent or out of scope: the same answer)."""
    row = session.scalars(query).first()
    if row is None:
        raise NotFound(f"no {missing} in your scope")
    return row
