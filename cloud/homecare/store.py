"""Home care over the store: the registry, visits signed in and out (idempotent on the phone's key), and scoped
queries. The caller commits; every list takes the user whose scope it is read in.

Rules never run here: the pure modules (`counting`, `fraud`, `followup`) read the typed records these functions
return.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cloud.homecare.orders import overlapping_visit
from cloud.homecare.records import (
    Caregiver,
    Category,
    Elder,
    Location,
    MadeUpMonth,
    Provider,
    Visit,
    free_text,
    id_problem,
    is_month,
    text_problem,
    utc,
)
from cloud.homecare.scope import (
    homecare_caregiver_condition,
    homecare_elder_condition,
    homecare_provider_condition,
    homecare_visit_condition,
)
from cloud.store.homecare import (
    KEY_LEN,
    HomecareCaregiver,
    HomecareElder,
    HomecareProvider,
    HomecareVisit,
    MadeUpMonthRow,
)
from cloud.store.locks import hold_row, upsert_row
from cloud.store.users import User

# A phone's clock may run a little fast; a sign-in or sign-out further in the future than this is refused.
MAX_CLOCK_AHEAD = timedelta(minutes=5)
MAX_ITEMS = 20
ITEM_LEN = 64
Row = TypeVar("Row")


class HomecareError(ValueError):
    """A request the registry or the visit's state does not allow; the message is one plain line."""


class NotFound(HomecareError):
    """No such elder, provider, caregiver or visit (or not in the user's scope: the same answer)."""


class VisitConflict(HomecareError):
    """The key names a visit already stored with different content: a replay must repeat what was sent."""


# --- registry -------------------------------------------------------------------------------------------------


def _check_id(value: str, what: str) -> None:
    problem = id_problem(value, what)
    if problem:
        raise HomecareError(problem)


def checked_text(value: str, what: str) -> str:
    try:
        return free_text(value, what)
    except ValueError as exc:
        raise HomecareError(str(exc)) from None


def _check_text(*fields: tuple[str, str, int, bool]) -> None:
    for value, what, limit, required in fields:
        problem = text_problem(value, what, limit, required=required)
        if problem:
            raise HomecareError(problem)


def _check_registered(session: Session, provider_id: str) -> None:
    if session.get(HomecareProvider, provider_id) is None:
        raise HomecareError(f"provider {provider_id!r} is not registered")


def upsert_provider(session: Session, provider: Provider) -> HomecareProvider:
    """Create or update a provider by id (an import run twice changes nothing)."""
    _check_id(provider.id, "provider")
    _check_text((provider.name, "name", 200, True), (provider.town, "town", 200, True),
                (provider.phone, "phone", 32, False))
    row = session.get(HomecareProvider, provider.id) or HomecareProvider(id=provider.id)
    row.name, row.town, row.phone, row.active = provider.name, provider.town, provider.phone, True
    session.add(row)
    return row


def upsert_caregiver(session: Session, caregiver: Caregiver) -> HomecareCaregiver:
    """Create or update a caregiver by job number; the provider must be registered."""
    _check_id(caregiver.id, "caregiver")
    _check_text((caregiver.name, "name", 200, True), (caregiver.phone, "phone", 32, False))
    _check_registered(session, caregiver.provider)
    row = session.get(HomecareCaregiver, caregiver.id) or HomecareCaregiver(id=caregiver.id)
    row.name, row.provider_id, row.phone, row.active = caregiver.name, caregiver.provider, caregiver.phone, True
    session.add(row)
    return row


def upsert_elder(session: Session, elder: Elder) -> HomecareElder:
    """Create or update an elder by id; the provider must be registered."""
    _check_id(elder.id, "elder")
    _check_text((elder.name, "name", 200, True), (elder.town, "town", 200, True),
                (elder.address, "address", 500, False), (elder.package, "package", 200, False))
    _check_registered(session, elder.provider)
    row = session.get(HomecareElder, elder.id) or HomecareElder(id=elder.id)
    row.name, row.category, row.town, row.provider_id = elder.name, elder.category.value, elder.town, elder.provider
    row.address, row.package, row.timezone, row.active = elder.address, elder.package, elder.timezone, True
    row.lat, row.lon = (elder.home.lat, elder.home.lon) if elder.home else (None, None)
    row.since, row.until = elder.since, elder.until
    session.add(row)
    return row


def provider_record(row: HomecareProvider) -> Provider:
    return Provider(id=row.id, name=row.name, town=row.town, phone=row.phone)


def caregiver_record(row: HomecareCaregiver) -> Caregiver:
    return Caregiver(id=row.id, name=row.name, provider=row.provider_id, phone=row.phone)


def elder_record(row: HomecareElder) -> Elder:
    home = Location(row.lat, row.lon) if row.lat is not None and row.lon is not None else None
    return Elder(id=row.id, name=row.name, category=Category(row.category), town=row.town, provider=row.provider_id,
                 address=row.address, package=row.package, home=home, timezone=row.timezone, since=row.since,
                 until=row.until)


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


def elders_query(user: User, *, town: str | None = None, provider: str | None = None,
                 include_inactive: bool = False) -> Select[tuple[HomecareElder]]:
    query = select(HomecareElder).where(homecare_elder_condition(user))
    if town is not None:
        query = query.where(HomecareElder.town == town)
    if provider is not None:
        query = query.where(HomecareElder.provider_id == provider)
    if not include_inactive:
        query = query.where(HomecareElder.active.is_(True))
    return query.order_by(HomecareElder.id)


def list_elders(session: Session, user: User, *, town: str | None = None, provider: str | None = None,
                include_inactive: bool = False) -> list[HomecareElder]:
    return list(session.scalars(elders_query(user, town=town, provider=provider, include_inactive=include_inactive)))


def list_providers(session: Session, user: User) -> list[HomecareProvider]:
    return list(session.scalars(select(HomecareProvider).where(homecare_provider_condition(user))
                                .order_by(HomecareProvider.id)))


def list_caregivers(session: Session, user: User, *, provider: str | None = None) -> list[HomecareCaregiver]:
    query = select(HomecareCaregiver).where(homecare_caregiver_condition(user))
    if provider is not None:
        query = query.where(HomecareCaregiver.provider_id == provider)
    return list(session.scalars(query.order_by(HomecareCaregiver.id)))


def _in_scope(session: Session, query: Select[tuple[Row]], missing: str) -> Row:
    """The one row `query` finds; NotFound when there is none (absent or out of scope: the same answer)."""
    row = session.scalars(query).first()
    if row is None:
        raise NotFound(f"no {missing} in your scope")
    return row


def get_elder(session: Session, user: User, elder_id: str) -> HomecareElder:
    return _in_scope(session, select(HomecareElder).where(HomecareElder.id == elder_id, homecare_elder_condition(user)),
                     f"elder {elder_id!r}")


def get_provider(session: Session, user: User, provider_id: str) -> HomecareProvider:
    return _in_scope(session, select(HomecareProvider).where(HomecareProvider.id == provider_id,
                                                             homecare_provider_condition(user)),
                     f"provider {provider_id!r}")


def get_visit(session: Session, user: User, key: str) -> HomecareVisit:
    return _in_scope(session, select(HomecareVisit).where(HomecareVisit.key == key, homecare_visit_condition(user)),
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


# --- visits ---------------------------------------------------------------------------------------------------


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


def _same(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and abs(a - b) < 1e-9)


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


# --- made-up months -------------------------------------------------------------------------------------------


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
