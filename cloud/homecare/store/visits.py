"""Home-care work orders in the store: signed in and out from the caregiver's phone (idempotent on the phone's key,
one caregiver's orders of one elder never overlapping), voided, read back as typed records, and queried in a user's
scope. The caller commits.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cloud.homecare.orders import overlapping_visit
from cloud.homecare.records import Location, Visit, utc
from cloud.homecare.scope import homecare_visit_condition
from cloud.homecare.store.errors import HomecareError, NotFound, VisitConflict, checked_text, in_scope
from cloud.store.homecare import KEY_LEN, HomecareCaregiver, HomecareElder, HomecareVisit
from cloud.store.locks import hold_row
from cloud.store.users import User

# A phone's clock may run a little fast; a sign-in or sign-out further in the future than this is refused.
MAX_CLOCK_AHEAD = timedelta(minutes=5)
MAX_ITEMS = 20
ITEM_LEN = 64


def _location(lat: float | None, lon: float | None, accuracy: float | None) -> Location | None:
    return Location(lat, lon, accuracy) if lat is not None and lon is not None else None


def visit_record(row: HomecareVisit) -> Visit:
    return Visit(
        id=row.key, elder=row.elder_id, caregiver=row.caregiver_id, provider=row.provider_id,
        sign_in=row.sign_in_at, sign_out=row.sign_out_at, items=tuple(row.items),
        sign_in_at=_location(row.sign_in_lat, row.sign_in_lon, row.sign_in_accuracy_m),
        sign_out_at=_location(row.sign_out_lat, row.sign_out_lon, row.sign_out_accuracy_m),
        token=row.token_id, voided=row.voided, void_reason=row.void_reason or "",
        sign_in_received=row.sign_in_recorded_at, sign_out_received=row.sign_out_recorded_at,
    )


def get_visit(session: Session, user: User, key: str) -> HomecareVisit:
    return in_scope(session, select(HomecareVisit).where(HomecareVisit.key == key, homecare_visit_condition(user)),
                    f"visit {key!r}")


def visits_query(user: User, *, start: datetime | None = None, end: datetime | None = None,
                 provider: str | None = None, elder: str | None = None, caregiver: str | None = None,
                 town: str | None = None) -> Select[tuple[HomecareVisit]]:
    """Visits this user may see, signed in within [start, end) if given, oldest first."""
    query = select(HomecareVisit).where(homecare_visit_condition(user))
    if start is not None:
        query = query.where(HomecareVisit.sign_in_at >= utc(start))
    if end is not None:
        query = query.where(HomecareVisit.sign_in_at < utc(end))
    if provider is not None:
        query = query.where(HomecareVisit.provider_id == provider)
    if elder is not None:
        query = query.where(HomecareVisit.elder_id == elder)
    if caregiver is not None:
        query = query.where(HomecareVisit.caregiver_id == caregiver)
    if town is not None:
        query = query.where(HomecareVisit.elder_id.in_(select(HomecareElder.id).where(HomecareElder.town == town)))
    return query.order_by(HomecareVisit.sign_in_at, HomecareVisit.id)


def list_visits(session: Session, user: User, **filters: object) -> list[HomecareVisit]:
    return list(session.scalars(visits_query(user, **filters)))  # type: ignore[arg-type]


def _items(items: Iterable[str]) -> list[str]:
    cleaned = list(dict.fromkeys(i.strip() for i in items if i.strip()))
    if len(cleaned) > MAX_ITEMS:
        raise HomecareError(f"at most {MAX_ITEMS} service items per visit")
    for item in cleaned:
        if len(item) > ITEM_LEN or not item.isprintable():
            raise HomecareError(f"service item {item[:20]!r}... must be 1-{ITEM_LEN} printable characters")
    return cleaned


def _check_key(key: str) -> None:
    if not 8 <= len(key) <= KEY_LEN or not all(c.isalnum() or c in "-_" for c in key) or not key.isascii():
        raise HomecareError(f"visit key must be 8-{KEY_LEN} characters of A-Z, a-z, 0-9, '-' and '_' "
                            "(the phone makes one per visit, e.g. a UUID)")


def _check_time(at: datetime, now: datetime, what: str) -> datetime:
    if at.tzinfo is None:
        raise HomecareError(f"{what} time {at.isoformat()} has no timezone")
    if at > now + MAX_CLOCK_AHEAD:
        raise HomecareError(f"{what} time {at.isoformat()} is in the future (the phone's clock is wrong?)")
    return utc(at)


def _check_not_twice(session: Session, key: str, elder_id: str, caregiver_id: str, start: datetime,
                     end: datetime | None) -> None:
    """Refuse an order of this caregiver at this elder's over another of theirs (signed out, voided or not: a void
    must not be undone by signing the same hour in again under a new key)."""
    rows = session.execute(select(HomecareVisit.key, HomecareVisit.sign_in_at, HomecareVisit.sign_out_at).where(
        HomecareVisit.caregiver_id == caregiver_id, HomecareVisit.elder_id == elder_id, HomecareVisit.key != key,
        HomecareVisit.sign_out_at.is_not(None))).tuples()
    other = overlapping_visit(utc(start), None if end is None else utc(end),
                              [(k, utc(a), utc(b)) for k, a, b in rows if b is not None])
    if other is not None:
        raise VisitConflict(f"you already have visit {other!r} of this elder at that time: one visit is signed in "
                            "and out once")


def record_sign_in(session: Session, *, key: str, elder_id: str, caregiver_id: str, at: datetime, by: str,
                   now: datetime, items: Sequence[str] = (), location: Location | None = None,
                   token_id: str | None = None) -> tuple[HomecareVisit, bool]:
    """Store a sign-in (the caregiver scanned the elder's QR code at `at`, the phone's time); returns the visit and
    whether it is new. A replay of the same key (an offline queue sending again) returns the stored visit
    unchanged; the same key with another elder, caregiver or time is a VisitConflict.

    The caller has already checked the QR token and that `by` may sign in as `caregiver_id`.
    """
    _check_key(key)
    at = _check_time(at, now, "sign-in")
    # One caregiver's scans take turns (several API processes): a phone resending a key while its first request is
    # still being stored finds that visit (a replay, not a conflict that would make the phone drop it), and two
    # overlapping visits sent at once cannot both pass the overlap check.
    hold_row(session, HomecareCaregiver, caregiver_id)
    existing = session.scalars(select(HomecareVisit).where(HomecareVisit.key == key)).first()
    if existing is not None:
        if (existing.elder_id, existing.caregiver_id, existing.sign_in_at) != (elder_id, caregiver_id, at):
            raise VisitConflict(f"visit {key!r} was already signed in for another elder, caregiver or time")
        return existing, False
    caregiver = session.get(HomecareCaregiver, caregiver_id)
    if caregiver is None or not caregiver.active:
        raise NotFound(f"no active caregiver {caregiver_id!r}")
    elder = session.get(HomecareElder, elder_id)
    if elder is None or not elder.active:
        raise NotFound(f"no active elder {elder_id!r}")
    if elder.provider_id != caregiver.provider_id:
        raise HomecareError(f"elder {elder_id!r} is served by another provider than caregiver {caregiver_id!r}'s")
    _check_not_twice(session, key, elder_id, caregiver_id, at, None)
    visit = HomecareVisit(
        key=key, elder_id=elder_id, caregiver_id=caregiver_id, provider_id=caregiver.provider_id, token_id=token_id,
        sign_in_at=at, sign_in_recorded_at=now, items=_items(items), voided=False, signed_by=by,
        sign_in_lat=location.lat if location else None, sign_in_lon=location.lon if location else None,
        sign_in_accuracy_m=location.accuracy_m if location else None,
    )
    session.add(visit)
    session.flush()
    return visit, True


def record_sign_out(session: Session, *, key: str, at: datetime, now: datetime, items: Sequence[str] | None = None,
                    location: Location | None = None, caregiver_id: str | None = None) -> tuple[HomecareVisit, bool]:
    """Store the sign-out of visit `key` at `at` (the phone's time); returns the visit and whether it changed. A
    replay with the same time changes nothing; another time for a visit already signed out is a VisitConflict.
    `items`, when given, are the service items the caregiver picked (they replace those of the sign-in).
    `caregiver_id`, when given, must be the visit's caregiver (a caregiver signs out their own visits only)."""
    _check_key(key)
    at = _check_time(at, now, "sign-out")
    visit = session.scalars(select(HomecareVisit).where(HomecareVisit.key == key)).first()
    if visit is None or (caregiver_id is not None and visit.caregiver_id != caregiver_id):
        raise NotFound(f"no visit {key!r} signed in by you")
    # Take turns with the caregiver's other scans (see record_sign_in), then read the visit as they left it: two
    # sign-outs of one visit at different times cannot both be stored, the later one over the first.
    hold_row(session, HomecareCaregiver, visit.caregiver_id)
    session.refresh(visit)
    if visit.sign_out_at is not None:
        if visit.sign_out_at != at:
            raise VisitConflict(f"visit {key!r} was already signed out at {visit.sign_out_at.isoformat()}")
        return visit, False
    if at < visit.sign_in_at:
        raise HomecareError(f"sign-out {at.isoformat()} is before the sign-in {visit.sign_in_at.isoformat()}")
    _check_not_twice(session, key, visit.elder_id, visit.caregiver_id, visit.sign_in_at, at)
    visit.sign_out_at, visit.sign_out_recorded_at = at, now
    if items is not None:
        visit.items = _items(items)
    if location is not None:
        visit.sign_out_lat, visit.sign_out_lon, visit.sign_out_accuracy_m = (location.lat, location.lon,
                                                                             location.accuracy_m)
    session.flush()
    return visit, True


def void_visit(visit: HomecareVisit, by: str, reason: str, now: datetime) -> None:
    """Void a work order (作废单): it fails the duration or quality rules. Kept, never deleted; counts nowhere."""
    reason = checked_text(reason, "why the order is voided")
    if visit.voided:
        raise HomecareError(f"visit {visit.key!r} is already voided")
    visit.voided, visit.void_reason, visit.voided_by, visit.voided_at = True, reason, by, now
