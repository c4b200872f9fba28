"""Who may see which home-care records, as SQL conditions (re-exported by cloud.api.scope with the other scoping
rules). Every home-care list and count goes through these."""

from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_, select

from cloud.store.homecare import Complaint, HomecareCaregiver, HomecareElder, HomecareProvider, HomecareVisit
from cloud.store.users import User, role_condition

# Home care (居家上门服务). The bureau sees everything; a town officer the elders of its towns, their visits and the
# complaints about them, and the providers and caregivers serving them; a provider's manager its own elders,
# caregivers, visits, complaints and figures; a caregiver only their own visits (and the elders of those visits).
# Station staff and dispatch see none of it.
HOMECARE_ROLES = frozenset({"bureau", "town", "provider", "caregiver"})


def homecare_elder_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on homecare_elders: the elders this user may see."""
    return role_condition(
        user,
        town=HomecareElder.town.in_,
        provider=lambda provider: HomecareElder.provider_id == provider,
        caregiver=lambda caregiver: HomecareElder.id.in_(select(HomecareVisit.elder_id)
                                                         .where(HomecareVisit.caregiver_id == caregiver)),
    )


def homecare_visit_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on homecare_visits: the visits (work orders) this user may see."""
    return role_condition(
        user,
        town=lambda towns: HomecareVisit.elder_id.in_(select(HomecareElder.id).where(HomecareElder.town.in_(towns))),
        provider=lambda provider: HomecareVisit.provider_id == provider,
        caregiver=lambda caregiver: HomecareVisit.caregiver_id == caregiver,
    )


def _providers_of_towns(towns: list[str]) -> ColumnElement[bool]:
    """Providers based in these towns or serving an elder there. A town cannot widen this itself: it files its
    elders only with providers already in it (cloud.homecare.store.registry.assignable_provider), so a provider from
    another town serves it only once the bureau has filed one of its elders there."""
    serving = select(HomecareElder.provider_id).where(HomecareElder.town.in_(towns))
    return or_(HomecareProvider.town.in_(towns), HomecareProvider.id.in_(serving))


def homecare_provider_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on homecare_providers: the providers this user may see (a town: those based in or serving
    its towns; a caregiver: their employer)."""
    return role_condition(
        user,
        town=_providers_of_towns,
        provider=lambda provider: HomecareProvider.id == provider,
        caregiver=lambda caregiver: HomecareProvider.id.in_(select(HomecareCaregiver.provider_id)
                                                            .where(HomecareCaregiver.id == caregiver)),
    )


def homecare_caregiver_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on homecare_caregivers: the caregivers this user may see (a town: those of the providers it
    sees)."""
    return role_condition(
        user,
        town=lambda towns: HomecareCaregiver.provider_id.in_(select(HomecareProvider.id)
                                                             .where(_providers_of_towns(towns))),
        provider=lambda provider: HomecareCaregiver.provider_id == provider,
        caregiver=lambda caregiver: HomecareCaregiver.id == caregiver,
    )


def complaints_of_towns(towns: Sequence[str]) -> ColumnElement[bool]:
    """Complaints about an elder of these towns. A complaint is a town's by the elder it is about, not by the
    provider: a provider serving several towns has each town's complaints, and one about no elder is the bureau's."""
    return Complaint.elder_id.in_(select(HomecareElder.id).where(HomecareElder.town.in_(list(towns))))


def homecare_complaint_condition(user: User) -> ColumnElement[bool]:
    """A WHERE condition on homecare_complaints: the complaints this user may read and (bureau, town) decide (a
    town: about its towns' elders; a provider: about itself; a caregiver: none)."""
    return role_condition(
        user,
        town=complaints_of_towns,
        provider=lambda provider: Complaint.provider_id == provider,
    )
