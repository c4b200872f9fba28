"""Rejections that name the field and the problem in plain words."""

from collections.abc import Sequence

from pydantic import ValidationError

from station_protocol.ids import id_problem


class ProtocolError(ValueError):
    """A message that breaks station protocol v1; `problems` holds one plain sentence per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


_PLAIN = {
    "missing": "is required but missing",
    "timezone_aware": "has no UTC offset (RFC 3339 needs one, e.g. +08:00 or Z)",
    "datetime_type": "must be an RFC 3339 timestamp string",
    "datetime_parsing": "is not an RFC 3339 timestamp",
    "datetime_from_date_parsing": "is not an RFC 3339 timestamp",
    "uuid_parsing": "is not a UUID",
    "uuid_type": "must be a UUID string",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "literal_error": "",
    "string_pattern_mismatch": "",
    "greater_than": "",
    "greater_than_equal": "",
    "string_too_long": "",
    "string_too_short": "",
    "json_invalid": "",
}


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "payload"


def plain_problems(error: ValidationError) -> list[str]:
    """Turn pydantic's errors into `field: problem` sentences."""
    problems = []
    for err in error.errors(include_url=False):
        kind = err["type"]
        field = _field(err["loc"])
        if kind == "json_invalid":
            problems.append(f"payload is not valid JSON: {err['msg'].removeprefix('Invalid JSON: ')}")
            continue
        if kind in ("model_type", "dict_type") and not err["loc"]:
            problems.append("payload must be a JSON object")
            continue
        if kind == "string_pattern_mismatch" and field in ("station", "device") and isinstance(err["input"], str):
            problems.append(f"{field}: {id_problem(err['input'], field)}")
            continue
        if field == "v" and kind in ("greater_than_equal", "less_than_equal"):
            problems.append(f"v must be 1 (this is protocol v1; got {err['input']!r})")
            continue
        plain = _PLAIN.get(kind)
        if plain:
            problems.append(f"{field} {plain}")
        elif kind == "value_error":
            message = err["msg"].removeprefix("Value error, ")
            # A validator that names the field itself (`detail.encoding: …`) is not prefixed with it again.
            problems.append(message if message.startswith((f"{field}.", f"{field}:")) else f"{field}: {message}")
        else:
            got = err.get("input")
            shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) and len(repr(got)) <= 80 else ""
            problems.append(f"{field}: {err['msg'][0].lower()}{err['msg'][1:]}{shown}")
    return problems
