"""The bureau's station spreadsheet (CSV) parsed into typed records. Pure: text in, records and problems out.

Columns: `station_id,name,town,grade,weekdays,hours` and optional `open_on_holidays` (yes/no, default no), `address`
and `timezone`. UTF-8 with or without the BOM Excel writes. Every bad row is reported with its line number and
reason; the good rows are still returned.
"""

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cloud.csv_records import Problem, parse_csv
from firmware_config.grade import GRADES, Grade
from firmware_config.schedule import Schedule
from station_protocol.ids import StationId

REQUIRED = ("station_id", "name", "town", "grade", "weekdays", "hours")
OPTIONAL = ("open_on_holidays", "address", "timezone")
YES = frozenset({"yes", "y", "true", "1", "是"})
NO = frozenset({"no", "n", "false", "0", "否", ""})


class StationRecord(BaseModel):
    """A station as the registry knows it: identity, grade and weekly schedule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: StationId
    name: str = Field(min_length=1, max_length=200)
    town: str = Field(min_length=1, max_length=200)
    grade: Grade
    schedule: Schedule
    address: str | None = Field(default=None, max_length=500)


def _holidays(value: str) -> bool:
    cleaned = value.strip().lower()
    if cleaned in YES:
        return True
    if cleaned in NO:
        return False
    raise ValueError(f"open_on_holidays {value!r} must be yes or no")


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(str(p) for p in err["loc"] if p != "schedule").replace("id", "station_id", 1) or "row"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "literal_error":
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
            grade=cell["grade"].upper(),  # validated as a Literal
            schedule=schedule,
            address=cell["address"] or None,
        )
    except ValidationError as exc:
        raise ValueError(_reason(exc)) from None


def parse_station_csv(text: str) -> tuple[list[StationRecord], list[Problem]]:
    """Records for the good rows and one problem per bad row (or bad header), in file order."""
    return parse_csv(text, (REQUIRED, OPTIONAL), parse_row, lambda record: record.id, "station")
