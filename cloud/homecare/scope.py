"""Who may see which home-care records, as SQL conditions (re-exported by cloud.api.scope with the other scoping
rules). Every home-care list and count goes through these."""

from sqlalchemy import ColumnElement, false, or_, select, true

from cloud.store.homecare import HomecareCaregiver, HomecareElder, HomecareProvider, HomecareVisit
from cloud.store.users import User

# Home care (居家上门服务). The bureau sees everything; a town officer the elders of its towns, their visits, and the
# providers and caregivers serving them; a provider's manager its own elders, caregivers, visits and figures; a
# caregiver only their own visits (and the elders of those visits). Station staff and dispatch see none of it.
HOMECARE_ROLES = frozenset({"bureau", "town", "provider", "caregiver"})


def homecare_elder_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on homecare_elders: the elders this user may see."""
    if user.role == "bureau":
        return true()
    if user.role == "town":
        towns = user.town_names
        return HomecareElder.town.in_(towns) if towns else false()
    if user.role == "provider" and user.provider_id:
        return HomecareElder.provider_id == user.provider_id
    if user.role == "caregiver" and user.caregiver_id:
        return HomecareElder.id.in_(select(HomecareVisit.elder_id)
                                    .where(HomecareVisit.caregiver_id == user.caregiver_id))
    return false()


def homecare_visit_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on homecare_visits: the visits (work orders) this user may see."""
    if user.role == "bureau":
        return true()
    if user.role == "town":
        towns = user.town_names
        if not towns:
            return false()
        return HomecareVisit.elder_id.in_(select(HomecareElder.id).where(HomecareElder.town.in_(towns)))
    if user.role == "provider" and user.provider_id:
        return HomecareVisit.provider_id == user.provider_id
    if user.role == "caregiver" and user.caregiver_id:
        return HomecareVisit.caregiver_id == user.caregiver_id
    return false()


def homecare_provider_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on homecare_providers: the providers this user may see (a town: those based in or serving
    its towns; a caregiver: their employer)."""
    if user.role == "bureau":
        return true()
    if user.role == "town":
        towns = user.town_names
        if not towns:
            return false()
        serving = select(HomecareElder.provider_id).where(HomecareElder.town.in_(towns))
        return or_(HomecareProvider.town.in_(towns), HomecareProvider.id.in_(serving))
    if user.role == "provider" and user.provider_id:
        return HomecareProvider.id == user.provider_id
    if user.role == "caregiver" and user.caregiver_id:
        return HomecareProvider.id.in_(select(HomecareCaregiver.provider_id)
                                       .where(HomecareCaregiver.id == user.caregiver_id))
    return false()


def homecare_caregiver_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on homecare_caregivers: the caregivers this user may see."""
    if user.role == "bureau":
        return true()
    if user.role == "town":
        return HomecareCaregiver.provider_id.in_(select(HomecareProvider.id).where(homecare_provider_condition(user)))
    if user.role == "provider" and user.provider_id:
        return HomecareCaregiver.provider_id == user.provider_id
    if user.role == "caregiver" and user.caregiver_id:
        return HomecareCaregiver.id == user.caregiver_id
    return false()
