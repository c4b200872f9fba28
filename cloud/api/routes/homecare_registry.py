"""The home-care registry (居家上门服务): providers, caregivers and elders, and the months an elder could not be
served. The bureau registers providers; the bureau, the provider's town or the provider itself its caregivers; the
bureau or the elder's town its elders (a town with the providers it already oversees), whose every change is in the
audit log.
"""

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from cloud.api import audit
from cloud.api.deps import ConfigDep, SessionDep
from cloud.api.errors import homecare_refusals
from cloud.api.homecare_deps import Bureau, Filter, HomecareUser, Id, Manager, Name, Note, Supervisor, now, own_town
from cloud.api.moments import Day
from cloud.homecare.records import DEFAULT_TIMEZONE, Caregiver, Category, CategoryVersion, Elder, Location, Provider
from cloud.homecare.store.categories import category_histories
from cloud.homecare.store.errors import NotFound
from cloud.homecare.store.made_up import record_made_up_month
from cloud.homecare.store.registry import (
    assignable_provider,
    get_caregiver,
    get_elder,
    list_caregivers,
    list_elders,
    list_providers,
    staff_provider,
    upsert_caregiver,
    upsert_elder,
    upsert_provider,
)
from cloud.store.homecare import HomecareCaregiver, HomecareElder, row_dict

router = APIRouter(prefix="/homecare", tags=["homecare"])


class ProviderIn(BaseModel):
    name: Name
    town: Name
    phone: Annotated[str, Field(max_length=32)] = ""


class CaregiverIn(BaseModel):
    name: Name
    provider: Annotated[str, Field(min_length=1, max_length=63)]
    phone: Annotated[str, Field(max_length=32)] = ""


class ElderIn(BaseModel):
    name: Name
    category: Category
    town: Name
    provider: Annotated[str, Field(min_length=1, max_length=63)]
    address: Annotated[str, Field(max_length=500)] = ""
    package: Annotated[str, Field(max_length=200)] = ""
    lat: Annotated[float | None, Field(ge=-90, le=90)] = None
    lon: Annotated[float | None, Field(ge=-180, le=180)] = None
    # The service period (first and last day of care, in the elder's zone, both included); omitted: no limit.
    since: Day | None = None
    until: Day | None = None


@router.get("/providers")
def providers(user: HomecareUser, session: SessionDep) -> list[dict[str, Any]]:
    return [row_dict(p) for p in list_providers(session, user)]


@router.put("/providers/{provider_id}")
def put_provider(provider_id: Id, body: ProviderIn, user: Bureau, session: SessionDep) -> dict[str, Any]:
    with homecare_refusals():
        row = upsert_provider(session, Provider(provider_id, body.name, body.town, body.phone))
    session.commit()
    return row_dict(row)


@router.get("/caregivers")
def caregivers(user: HomecareUser, session: SessionDep, provider: Filter = None) -> list[dict[str, Any]]:
    return [row_dict(c) for c in list_caregivers(session, user, provider=provider)]


@router.put("/caregivers/{caregiver_id}")
def put_caregiver(caregiver_id: Id, body: CaregiverIn, user: Manager, session: SessionDep) -> dict[str, Any]:
    """The bureau, a town officer (for providers based in its towns) or the provider itself (its own staff). The
    caregiver's provider before and after must both be the user's to staff (`staff_provider`): a caregiver is never
    moved into or out of a provider outside it. A job number outside the user's scope is not found (it names no
    provider or town)."""
    with homecare_refusals():
        if session.get(HomecareCaregiver, caregiver_id) is not None:
            staff_provider(session, user, get_caregiver(session, user, caregiver_id).provider_id)
        staff_provider(session, user, body.provider)
        if user.role == "provider" and body.provider != user.provider_id:
            raise NotFound(f"no provider {body.provider!r} in your scope")
        row = upsert_caregiver(session, Caregiver(caregiver_id, body.name, body.provider, body.phone))
    session.commit()
    return row_dict(row)


@router.get("/elders")
def elders(user: HomecareUser, session: SessionDep, town: Filter = None,
           provider: Filter = None) -> list[dict[str, Any]]:
    rows = list_elders(session, user, town=town, provider=provider)
    histories = category_histories(session, [e.id for e in rows])
    return [_elder_dict(e, histories.get(e.id, ())) for e in rows]


@router.put("/elders/{elder_id}")
def put_elder(elder_id: Id, body: ElderIn, user: Supervisor, session: SessionDep,
              config: ConfigDep) -> dict[str, Any]:
    """The bureau, or a town officer for elders of its towns with a provider it already oversees (never a provider:
    the service period sets what it owes). Another town's elder is not found, as one that does not exist: the answer
    never tells where an elder lives. Every change is in the audit log with the values before and after."""
    existing = session.get(HomecareElder, elder_id)
    if existing is not None:
        with homecare_refusals():
            get_elder(session, user, elder_id)
    own_town(user, body.town)
    if (body.lat is None) != (body.lon is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give both lat and lon, or neither")
    if body.since is not None and body.until is not None and body.until < body.since:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"until {body.until.isoformat()} is before since {body.since.isoformat()}")
    home = Location(body.lat, body.lon) if body.lat is not None and body.lon is not None else None
    before = _elder_fields(existing) if existing is not None else None
    with homecare_refusals():
        assignable_provider(session, user, body.provider)
        row = upsert_elder(session, Elder(elder_id, body.name, body.category, body.town, body.provider,
                                          body.address, body.package, home,
                                          existing.timezone if existing is not None else DEFAULT_TIMEZONE,
                                          body.since, body.until), now(config))
    session.flush()
    after = _elder_fields(row)
    if before is None:
        audit.record(session, user, "elder.add", "elder", elder_id, now(config), after=after)
    else:
        keys = [k for k in after if before[k] != after[k]]
        if keys:
            audit.record(session, user, "elder.change", "elder", elder_id, now(config),
                         before={k: before[k] for k in keys}, after={k: after[k] for k in keys})
    session.commit()
    return _elder_dict(row, category_histories(session, [elder_id]).get(elder_id, ()))


def _elder_dict(row: HomecareElder, history: tuple[CategoryVersion, ...]) -> dict[str, Any]:
    """An elder as the API shows it: its columns and its category's versions (`category_history`: from which day in
    the elder's zone each applied, oldest first; the months are owed by them)."""
    return {**row_dict(row), "category_history": [{"from": v.effective_from.isoformat(), "category": v.category.value}
                                                  for v in history]}


def _elder_fields(row: HomecareElder) -> dict[str, Any]:
    """What the audit log keeps of an elder (JSON values: days as YYYY-MM-DD)."""
    return {"name": row.name, "category": row.category, "town": row.town, "provider": row.provider_id,
            "address": row.address, "package": row.package, "lat": row.lat, "lon": row.lon,
            "since": row.since.isoformat() if row.since else None,
            "until": row.until.isoformat() if row.until else None}


class MadeUpIn(BaseModel):
    month: Annotated[str, Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]
    reason: Note


@router.post("/elders/{elder_id}/made-up-months")
def made_up_month(elder_id: Id, body: MadeUpIn, user: Supervisor, session: SessionDep,
                  config: ConfigDep) -> dict[str, Any]:
    """Record a month the elder could not be served for a special reason (its shortfall is due next month)."""
    with homecare_refusals():
        get_elder(session, user, elder_id)
        row = record_made_up_month(session, elder_id, body.month, body.reason, user.name, now(config))
    session.commit()
    return row_dict(row)
