"""Identifier rules shared by topics and payloads."""

import re

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_ID_RE = re.compile(ID_PATTERN)

# Path segments the protocol reserves: they can never be device ids.
RESERVED_DEVICE_IDS = frozenset({"agent", "cmd"})


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
