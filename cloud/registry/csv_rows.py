"""The bureau's station spreadsheet (CSV) parsed into typed records. Pure: text in, records and problems out.

Columns: `station_id,name,town,grade,weekdays,hours` and optional `open_on_holidays` (yes/no, default no), `address`,
`timezone` and `kind` (`station`, the default; `care_centre`; `neighbourhood_point`; or their Chinese names). A
station's grade is required; a care centre's or neighbourhood point's grade cell must be empty (they have no grade).
UTF-8 with or without the BOM Excel writes. Every bad row is reported with its line number and reason; the good rows
are still returned.
"""

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cloud.csv_records import Problem, parse_csv
from firmware_config.grade import GRADES, Grade
from firmware_config.kind import KINDS, StationKind, grade_problem
from firmware_config.schedule import Schedule
from station_protocol.ids import StationId

REQUIRED = ("station_id", "name", "town", "grade", "weekdays", "hours")
OPTIONAL = ("open_on_holidays", "address", "timezone", "kind")
# The kinds by their Chinese names too, as a bureau's spreadsheet may spell them.
KIND_NAMES = {"居家养老服务站": "station", "服务站": "station", "照料中心": "care_centre",
              "睦邻点": "neighbourhood_point"}
YES = frozenset({"yes", "y", "true", "1", "是"})
NO = frozenset({"no", "n", "false", "0", "否", ""})


class StationRecord(BaseModel):
    """A station as the registry knows it: identity, kind, grade (stations only) and weekly schedule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: StationId
    name: str = Field(min_length=1, max_length=200)
    town: str = Field(min_length=1, max_length=200)
    kind: StationKind = "station"
    grade: Grade | None
    schedule: Schedule
    address: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _grade_fits_kind(self) -> Self:
        problem = grade_problem(self.kind, self.grade)
        if problem is not None:
            raise ValueError(problem)
        return self


def _holidays(value: str) -> bool:
    cleaned = value.strip().lower()
    if cleaned in YES:
        return True
    if cleaned in NO:
        return False
    raise ValueError(f"open_on_holidays {value!r} must be yes or no")


def _kind(value: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        return "station"
    kind = KIND_NAMES.get(cleaned, cleaned.lower())
    if kind not in KINDS:
        raise ValueError(f"kind {value!r} must be one of {', '.join(KINDS)} (or 居家养老服务站, 照料中心, 睦邻点)")
    return kind


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"] if p != "schedule").replace("id", "station_id", 1) or "row"
        message = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # the row as a whole: its kind and grade do not go together
            parts.append(message)
        elif err["type"] == "literal_error" and err["loc"] == ("grade",):
            parts.append(f"grade must be one of {', '.join(GRADES)} (got {err['input']!r})")
        elif err["type"] == "string_too_short":
            parts.append(f"{field} is empty")
        elif message.split(" ")[0] in (field, field.removeprefix("station_")):
            parts.append(message)
        else:
            parts.append(f"{field}: {message}")
    return "; ".join(parts)


def parse_row(row: dict[str, str]) -> StationRecord:
    """One CSV row (header names as keys) as a record; raises ValueError with the reason."""
    cell = {key: (row.get(key) or "").strip() for key in (*REQUIRED, *OPTIONAL)}
    try:
        open_on_holidays = _holidays(cell["open_on_holidays"])
        kind = _kind(cell["kind"])
        schedule = Schedule.model_validate({
            "weekdays": cell["weekdays"],
            "hours": cell["hours"],
            "open_on_holidays": open_on_holidays,
            **({"timezone": cell["timezone"]} if cell["timezone"] else {}),
        })
        return StationRecord(
            id=cell["station_id"],
            name=cell["name"],
            town=cell["town"],
            kind=kind,
            grade=cell["grade"].upper() or None,  # validated as a Literal; empty: none (checked against the kind)
            schedule=schedule,
            address=cell["address"] or None,
        )
    except ValidationError as exc:
        raise ValueError(_reason(exc)) from None


def parse_station_csv(text: str) -> tuple[list[StationRecord], list[Problem]]:
    """Records for the good rows and one problem per bad row (or bad header), in file order."""
    return parse_csv(text, (REQUIRED, OPTIONAL), parse_row, lambda record: record.id, "station")
