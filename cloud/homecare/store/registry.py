"""The home-care registry in the store: providers, caregivers and elders created or updated by id (an import run
twice changes nothing), read back as typed records, and listed or looked up in a user's scope. The caller commits.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cloud.homecare.records import (
    Caregiver,
    Category,
    CategoryVersion,
    Elder,
    Location,
    Provider,
    id_problem,
    text_problem,
)
from cloud.homecare.scope import homecare_caregiver_condition, homecare_elder_condition, homecare_provider_condition
from cloud.homecare.store.categories import category_histories, record_category
from cloud.homecare.store.errors import HomecareError, NotYours, in_scope
from cloud.store.homecare import HomecareCaregiver, HomecareElder, HomecareProvider
from cloud.store.models import utcnow
from cloud.store.users import User


def _check_id(value: str, what: str) -> None:
    problem = id_problem(value, what)
    if problem:
        raise HomecareError(problem)


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


def upsert_elder(session: Session, elder: Elder, now: datetime | None = None) -> HomecareElder:
    """Create or update an elder by id; the provider must be registered. A new category is a version from `now`'s
    day (default: the current time) in the elder's zone: the months before keep the category they were owed by."""
    _check_id(elder.id, "elder")
    _check_text((elder.name, "name", 200, True), (elder.town, "town", 200, True),
                (elder.address, "address", 500, False), (elder.package, "package", 200, False))
    _check_registered(session, elder.provider)
    existing = session.get(HomecareElder, elder.id)
    before = Category(existing.category) if existing is not None else None
    row = existing or HomecareElder(id=elder.id)
    row.name, row.category, row.town, row.provider_id = elder.name, elder.category.value, elder.town, elder.provider
    row.address, row.package, row.timezone, row.active = elder.address, elder.package, elder.timezone, True
    row.lat, row.lon = (elder.home.lat, elder.home.lon) if elder.home else (None, None)
    row.since, row.until = elder.since, elder.until
    session.add(row)
    session.flush()  # the history refers to the row
    record_category(session, elder.id, elder.category, before, elder.timezone, now or utcnow())
    return row


def elder_record(row: HomecareElder, categories: tuple[CategoryVersion, ...] = ()) -> Elder:
    """The row as a typed record; `categories`: its category's history (`elder_records` reads it)."""
    home = Location(row.lat, row.lon) if row.lat is not None and row.lon is not None else None
    return Elder(id=row.id, name=row.name, category=Category(row.category), town=row.town, provider=row.provider_id,
                 address=row.address, package=row.package, home=home, timezone=row.timezone, since=row.since,
                 until=row.until, categories=categories)


def elder_records(session: Session, rows: Iterable[HomecareElder]) -> list[Elder]:
    """The rows as typed records with their category histories (one query): what the months are judged by."""
    listed = list(rows)
    histories = category_histories(session, [r.id for r in listed])
    return [elder_record(r, histories.get(r.id, ())) for r in listed]


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


def get_elder(session: Session, user: User, elder_id: str) -> HomecareElder:
    return in_scope(session, select(HomecareElder).where(HomecareElder.id == elder_id, homecare_elder_condition(user)),
                    f"elder {elder_id!r}")


def get_provider(session: Session, user: User, provider_id: str) -> HomecareProvider:
    return in_scope(session, select(HomecareProvider).where(HomecareProvider.id == provider_id,
                                                            homecare_provider_condition(user)),
                    f"provider {provider_id!r}")


def get_caregiver(session: Session, user: User, caregiver_id: str) -> HomecareCaregiver:
    return in_scope(session, select(HomecareCaregiver).where(HomecareCaregiver.id == caregiver_id,
                                                             homecare_caregiver_condition(user)),
                    f"caregiver {caregiver_id!r}")


def assignable_provider(session: Session, user: User, provider_id: str) -> None:
    """Refuses a provider this user may not file an elder with. The bureau files any registered provider
    (`upsert_elder` checks it is registered); a town officer only one it already oversees: based in its towns, or
    already serving an elder there (filed by the bureau, or the elder's own provider kept). Filing an elder with
    another town's provider would otherwise make that provider "serve" the town, and hand the town its caregivers
    and complaints: a town's scope is widened by the bureau only. NotFound, as for an unregistered provider."""
    if user.role != "bureau":
        get_provider(session, user, provider_id)


def staff_provider(session: Session, user: User, provider_id: str) -> HomecareProvider:
    """The provider, when this user may edit its staff (caregivers): the bureau any; a provider's manager its own; a
    town officer those based in its towns. A provider from another town serving the town's elders is the town's to
    supervise (orders, follow-ups, complaints, figures), not to staff: moving its caregivers would change whom it
    can send to every other town it serves. NotFound out of the user's sight; NotYours in sight but based elsewhere."""
    provider = get_provider(session, user, provider_id)
    if user.role == "town" and provider.town not in user.town_names:
        raise NotYours(f"provider {provider_id!r} is based in {provider.town!r}: its caregivers are edited by the "
                       f"bureau, {provider.town!r} or the provider itself")
    return provider
