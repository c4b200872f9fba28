"""The rules for user accounts, shared by `eldercare users` and the dashboard's user management: a user name, a
password's strength, and a role's scope (a town officer has towns, station staff one station, a home-care provider's
manager its provider, a caregiver their job number). Pure: each returns the problem as a sentence, or None."""

from collections.abc import Sequence

from cloud.homecare.records import id_problem
from station_protocol.ids import station_id_problem

MIN_PASSWORD = 8
MAX_NAME = 64  # the users table's column: a longer name is nobody's (login refuses it before looking it up)


def name_problem(name: str) -> str | None:
    if not 1 <= len(name) <= MAX_NAME or not name.isprintable() or name.strip() != name:
        return f"user name must be 1-{MAX_NAME} printable characters without surrounding spaces"
    return None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"the password must be at least {MIN_PASSWORD} characters"
    return None


def scope_problem(role: str, towns: Sequence[str], station: str | None) -> str | None:
    """What is wrong with this role's scope: towns only for town officers (at least one), a station only (and
    always) for station staff."""
    if role == "town" and not towns:
        return "a town officer needs at least one town (--town)"
    if role != "town" and towns:
        return "towns (--town) are only for the town role (--role town)"
    if role == "station" and not station:
        return "station staff need a station (--station)"
    if role != "station" and station:
        return "a station (--station) is only for the station role (--role station)"
    if any(not t.strip() or len(t) > 200 for t in towns):
        return "a town name must be 1-200 characters"
    return station_id_problem(station) if station else None


def homecare_problem(role: str, provider: str | None, caregiver: str | None) -> str | None:
    """A provider's manager names its provider, a caregiver their job number; nobody else has either."""
    for option, value, wanted in (("--provider", provider, "provider"), ("--caregiver", caregiver, "caregiver")):
        if role == wanted and not value:
            return f"a {wanted} user needs {option}"
        if role != wanted and value:
            return f"{option} is only for --role {wanted}"
        problem = id_problem(value, wanted) if value else None
        if problem:
            return problem
    return None
