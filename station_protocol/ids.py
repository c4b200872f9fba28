"""Identifier rules shared by topics and payloads."""

import re
from typing import Annotated

from pydantic import AfterValidator, Field

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_ID_RE = re.compile(ID_PATTERN)

# Path segments the protocol reserves: they can never be device ids.
RESERVED_DEVICE_IDS = frozenset({"agent", "cmd"})
# A station's id is also its broker user name, so it can never be one of the platform's own services' names
# (`eldercare-ingest` reads every station's messages, `eldercare-worker` commands them all) nor a reserved segment.
SERVICE_PREFIX = "eldercare-"
RESERVED_STATION_IDS = RESERVED_DEVICE_IDS | {"eldercare"}


def id_problem(value: str, what: str) -> str | None:
    """Why `value` is not a valid station/device id, in plain words, or None when it is valid."""
    if value == "":
        return f"{what} id is empty"
    if len(value) > 63:
        return f"{what} id is {len(value)} characters long; at most 63 are allowed"
    if _ID_RE.fullmatch(value):
        return None
    bad = sorted({c for c in value if not ((c.islower() and c.isascii()) or c.isdigit() or c == "-")})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return f"{what} id {value!r} contains {shown}; only a-z, 0-9 and '-' are allowed"
    return f"{what} id {value!r} must start with a letter or digit"


def is_valid_id(value: str) -> bool:
    """True when `value` is a valid station or device id."""
    return _ID_RE.fullmatch(value) is not None


def station_id_problem(value: str) -> str | None:
    """Why `value` cannot be a station id, or None: the one rule for the registry, the API and provisioning."""
    problem = id_problem(value, "station")
    if problem:
        return problem
    if value.startswith(SERVICE_PREFIX):
        return (f"station id {value!r} starts with {SERVICE_PREFIX!r}, which is reserved for the platform's own "
                "services (their broker accounts read or command every station)")
    if value in RESERVED_STATION_IDS:
        return f"station id {value!r} is reserved by the protocol"
    return None


def checked_station_id(value: str) -> str:
    """`value` when it can be a station id; ValueError with the reason in plain words when not."""
    problem = station_id_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# A station id wherever one is read (station files, the registry's CSV, the API): the one rule above, its reason
# given in plain words.
StationId = Annotated[str, AfterValidator(checked_station_id), Field(description="station id: 1-63 of a-z 0-9 -")]
