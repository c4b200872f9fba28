"""Whether the home-care provider or caregiver a new user is scoped to is registered: checked the same way by
`eldercare users add` and the API's user management, so neither creates an account that sees nothing (or, once the
id is imported later, sees what its creator never checked)."""

from sqlalchemy.orm import Session

from cloud.store.homecare import HomecareCaregiver, HomecareProvider


def unregistered_problem(session: Session, provider: str | None, caregiver: str | None,
                         within_provider: str | None = None) -> str | None:
    """The sentence refusing an unregistered provider or caregiver, or None. `within_provider`: a provider's
    manager may name only its own caregivers."""
    if provider is not None and session.get(HomecareProvider, provider) is None:
        return f"provider {provider!r} is not registered"
    if caregiver is not None:
        row = session.get(HomecareCaregiver, caregiver)
        if row is None or (within_provider is not None and row.provider_id != within_provider):
            return f"caregiver {caregiver!r} is not registered" + (" with your provider" if within_provider else "")
    return None
