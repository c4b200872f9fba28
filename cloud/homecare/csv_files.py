"""The bureau's home-care spreadsheets (CSV) as typed records. Pure: text in, records and problems out.

- providers: `provider_id,name,town` and optional `phone`
- caregivers: `caregiver_id,name,provider` and optional `phone` (the id is the job number on the badge)
- elders: `elder_id,name,category,town,provider` and optional `address`, `package`, `lat`, `lon`, `timezone`,
  `since`, `until`; category one of high_age, self_care, semi_disabled, disabled (or 高龄, 自理, 半失能, 失能);
  since/until the first and last day of service (YYYY-MM-DD in the elder's zone, both included; empty: no limit)
- visits (for `cloud derive`): `visit_id,elder_id,caregiver_id,provider,sign_in,sign_out,items`, RFC 3339 times
  with an offset (sign_out empty when never signed out), items separated by `;`

Read as every bureau file is (`cloud.csv_records`): UTF-8 with or without the BOM Excel writes; every bad row is
reported with its line number and reason, the good rows are still returned.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cloud.csv_records import Problem, parse_csv
from cloud.homecare.records import (
    CATEGORY_NAMES,
    DEFAULT_TIMEZONE,
    Caregiver,
    Category,
    Elder,
    Location,
    Provider,
    Visit,
    id_problem,
    text_problem,
    utc,
)

PROVIDER_COLUMNS = (("provider_id", "name", "town"), ("phone",))
CAREGIVER_COLUMNS = (("caregiver_id", "name", "provider"), ("phone",))
ELDER_COLUMNS = (("elder_id", "name", "category", "town", "provider"), ("address", "package", "lat", "lon",
                                                                         "timezone", "since", "until"))
VISIT_COLUMNS = (("visit_id", "elder_id", "caregiver_id", "provider", "sign_in", "sign_out", "items"), ())
_BY_NAME = {name: category for category, name in CATEGORY_NAMES.items()}


def _id(value: str, what: str) -> str:
    problem = id_problem(value, what)
    if problem:
        raise ValueError(problem)
    return value


def _text(cell: dict[str, str], key: str, limit: int = 200) -> str:
    problem = text_problem(cell[key], key, limit)
    if problem:
        raise ValueError(problem)
    return cell[key]


def _optional(cell: dict[str, str], key: str, limit: int) -> str:
    value = cell.get(key, "")
    problem = text_problem(value, key, limit, required=False)
    if problem:
        raise ValueError(problem)
    return value


def category(value: str) -> Category:
    cleaned = value.strip()
    if cleaned in _BY_NAME:
        return _BY_NAME[cleaned]
    try:
        return Category(cleaned.lower())
    except ValueError:
        allowed = ", ".join(c.value for c in Category)
        raise ValueError(f"category must be one of {allowed} (got {value!r})") from None


def _coordinate(value: str, key: str, bound: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{key} {value!r} is not a number") from None
    if not -bound <= number <= bound:
        raise ValueError(f"{key} {value!r} is outside -{bound:g}..{bound:g}")
    return number


def _zone(value: str) -> str:
    if not value:
        return DEFAULT_TIMEZONE
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {value!r} is not an IANA zone name (e.g. Asia/Shanghai)") from None
    return value


def day_cell(value: str, key: str) -> date | None:
    if not value:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{key} {value!r} is not a date YYYY-MM-DD (e.g. 2026-10-25)") from None


def _time(value: str, key: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{key} {value!r} is not an RFC 3339 time (e.g. 2026-10-12T09:00:00+08:00)") from None
    if moment.tzinfo is None:
        raise ValueError(f"{key} {value!r} has no offset (add e.g. +08:00)")
    return utc(moment)


def provider_row(cell: dict[str, str]) -> Provider:
    return Provider(id=_id(cell["provider_id"], "provider"), name=_text(cell, "name"), town=_text(cell, "town"),
                    phone=_optional(cell, "phone", 32))


def caregiver_row(cell: dict[str, str]) -> Caregiver:
    return Caregiver(id=_id(cell["caregiver_id"], "caregiver"), name=_text(cell, "name"),
                     provider=_id(cell["provider"], "provider"), phone=_optional(cell, "phone", 32))


def elder_row(cell: dict[str, str]) -> Elder:
    lat, lon = cell.get("lat", ""), cell.get("lon", "")
    if bool(lat) != bool(lon):
        raise ValueError("give both lat and lon, or neither")
    home = Location(_coordinate(lat, "lat", 90), _coordinate(lon, "lon", 180)) if lat else None
    return Elder(id=_id(cell["elder_id"], "elder"), name=_text(cell, "name"), category=category(cell["category"]),
                 town=_text(cell, "town"), provider=_id(cell["provider"], "provider"),
                 address=_optional(cell, "address", 500), package=_optional(cell, "package", 200), home=home,
                 timezone=_zone(cell.get("timezone", "")), since=day_cell(cell.get("since", ""), "since"),
                 until=day_cell(cell.get("until", ""), "until"))


def visit_row(cell: dict[str, str]) -> Visit:
    sign_in = _time(cell["sign_in"], "sign_in")
    sign_out = _time(cell["sign_out"], "sign_out") if cell["sign_out"] else None
    if sign_out is not None and sign_out < sign_in:
        raise ValueError(f"sign_out {cell['sign_out']} is before sign_in {cell['sign_in']}")
    items = tuple(dict.fromkeys(i.strip() for i in cell["items"].split(";") if i.strip()))
    return Visit(id=_id(cell["visit_id"], "visit"), elder=_id(cell["elder_id"], "elder"),
                 caregiver=_id(cell["caregiver_id"], "caregiver"), provider=_id(cell["provider"], "provider"),
                 sign_in=sign_in, sign_out=sign_out, items=items)


def parse_providers(text: str) -> tuple[list[Provider], list[Problem]]:
    return parse_csv(text, PROVIDER_COLUMNS, provider_row, lambda r: r.id, "provider")


def parse_caregivers(text: str) -> tuple[list[Caregiver], list[Problem]]:
    return parse_csv(text, CAREGIVER_COLUMNS, caregiver_row, lambda r: r.id, "caregiver")


def parse_elders(text: str) -> tuple[list[Elder], list[Problem]]:
    return parse_csv(text, ELDER_COLUMNS, elder_row, lambda r: r.id, "elder")


def parse_visits(text: str) -> tuple[list[Visit], list[Problem]]:
    return parse_csv(text, VISIT_COLUMNS, visit_row, lambda r: r.id, "visit")
