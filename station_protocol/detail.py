"""A health report's `detail`: a flat map of a few short values (a driver's diagnostics), never a place for an
image, a crop or a face encoding. The cloud stores no field it did not validate, and faces never leave the station:
what does not fit these bounds is refused, naming the key."""

import json
import math
import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

MAX_DETAIL_KEYS = 32
MAX_DETAIL_KEY_CHARS = 64
MAX_DETAIL_TEXT_CHARS = 300
MAX_DETAIL_BYTES = 2048  # the whole map as compact UTF-8 JSON
MAX_DETAIL_INT = 2**53  # what every JSON reader holds exactly
# Encoded binary: a run of base64 (or base64url) characters without a break, longer than a SHA-512 in base64 (88) and
# drawing on half the alphabet or more (text, paths and URLs use far fewer characters and break at dots, colons and
# spaces), or a run of hex digits longer than a SHA-512 in hex (128). A digest of firmware still passes; a 128-value
# face encoding, even quantised to a byte a value (172 characters of base64, 256 of hex), does not.
BASE64_RUN = 89
BASE64_DISTINCT = 32
HEX_RUN = 129
_BASE64 = re.compile(rf"[A-Za-z0-9+/_=-]{{{BASE64_RUN},}}")
_HEX = re.compile(rf"[0-9A-Fa-f]{{{HEX_RUN},}}")

_FLAT = "(detail is a flat map of names to strings, numbers, true/false or null)"


def encoded_spans(text: str) -> list[tuple[int, int]]:
    """Where `text` holds encoded binary data (the runs described above), as (start, end) offsets, in order."""
    spans = [m.span() for m in _HEX.finditer(text)]
    spans += [m.span() for m in _BASE64.finditer(text) if len(set(m.group())) >= BASE64_DISTINCT]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _looks_binary(text: str) -> bool:
    return bool(encoded_spans(text))


def value_problem(value: object) -> str | None:
    """Why one value of a detail is refused, or None (the model types what passes)."""
    if isinstance(value, list | tuple):
        return f"a list is not allowed {_FLAT}"
    if isinstance(value, dict):
        return f"an object is not allowed {_FLAT}"
    if isinstance(value, str):
        if len(value) > MAX_DETAIL_TEXT_CHARS:
            return f"{len(value)} characters (at most {MAX_DETAIL_TEXT_CHARS})"
        if _looks_binary(value):
            return ("looks like encoded binary data (base64 or hex); images, crops and face encodings never leave "
                    "the station")
    elif isinstance(value, float):
        if math.isnan(value):
            return "NaN is not allowed (JSON has no NaN; send null or leave it out)"
        if math.isinf(value):  # `Infinity`, or a number too large for a double such as 1e999
            return "number too large (it overflows to infinity)"
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_DETAIL_INT:
        return f"{value} is beyond ±2⁵³"
    return None


def keys_problems(detail: object) -> list[str]:
    """Why a detail's keys are refused (too many, empty, too long, encoded binary); [] for anything but a map."""
    if not isinstance(detail, dict):
        return []
    if len(detail) > MAX_DETAIL_KEYS:
        return [f"detail: {len(detail)} keys (at most {MAX_DETAIL_KEYS})"]
    problems = []
    for key in detail:
        if not isinstance(key, str):
            continue  # JSON keys are strings; a Python caller's other key is the type's to refuse
        if not key:
            problems.append("detail: an empty key")
        elif len(key) > MAX_DETAIL_KEY_CHARS:
            problems.append(f"detail: a key of {len(key)} characters (at most {MAX_DETAIL_KEY_CHARS})")
        elif _looks_binary(key):
            problems.append("detail: a key looks like encoded binary data")
    return problems


def size_problem(detail: dict[str, object]) -> str | None:
    """Why a detail of valid keys and values is still too large as a whole, or None."""
    size = len(json.dumps(detail, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    return f"detail: {size} bytes as JSON (at most {MAX_DETAIL_BYTES})" if size > MAX_DETAIL_BYTES else None


def _check_value(value: object) -> object:
    problem = value_problem(value)
    if problem:
        raise ValueError(problem)  # named `detail.<key>` by its place
    return value


def _check_keys(detail: object) -> object:
    problems = keys_problems(detail)
    if problems:
        raise ValueError("; ".join(problems))
    return detail


def _check_size(detail: dict[str, object]) -> dict[str, object]:
    problem = size_problem(detail)
    if problem:
        raise ValueError(problem)
    return detail


DetailValue = Annotated[str | int | float | bool | None, BeforeValidator(_check_value)]
Detail = Annotated[
    dict[str, DetailValue],
    BeforeValidator(_check_keys),
    AfterValidator(_check_size),
    Field(description=f"a flat map of at most {MAX_DETAIL_KEYS} names (1-{MAX_DETAIL_KEY_CHARS} characters) to "
                      f"strings of at most {MAX_DETAIL_TEXT_CHARS} characters, numbers (integers within ±2^53), "
                      f"true/false or null; at most {MAX_DETAIL_BYTES} bytes as JSON; never an image, a crop or an "
                      "encoding",
          json_schema_extra={"maxProperties": MAX_DETAIL_KEYS}),
]
