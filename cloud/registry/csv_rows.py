"""The bureau's station spreadsheet (CSV) parsed into typed records. Pure: text in, records and problems out.

Columns: `station_id,name,town,grade,weekdays,hours` and optional `open_on_holidays` (yes/no, default no), `address`
and `timezone`. UTF-8 with or without the BOM Excel writes. Every bad row is reported with its line number and
reason; the good rows are still returned.
"""

import csv
import io
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a line of the file was not imported."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


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
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], [Problem(1, "the file is empty; expected a header row " + ",".join(REQUIRED))]
    names = [name.strip().lower().removeprefix("\ufeff") for name in header]
    problems: list[Problem] = []
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        return [], [Problem(1, f"header lacks column(s) {', '.join(missing)}; expected {','.join(REQUIRED)}")]
    unknown = [name for name in names if name and name not in (*REQUIRED, *OPTIONAL)]
    if unknown:
        problems.append(Problem(1, f"unknown column(s) {', '.join(unknown)} ignored; known optional columns: "
                                   f"{', '.join(OPTIONAL)}"))
    records: list[StationRecord] = []
    first_line: dict[str, int] = {}
    line = reader.line_num
    for cells in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(names):
            problems.append(Problem(start, f"{len(cells)} cells but the header has {len(names)} columns"))
            continue
        try:
            record = parse_row(dict(zip(names, cells, strict=False)))
        except ValueError as exc:
            problems.append(Problem(start, str(exc)))
            continue
        if record.id in first_line:
            problems.append(Problem(start, f"station {record.id} is already on line {first_line[record.id]}"))
            continue
        first_line[record.id] = start
        records.append(record)
    return records, problems


def decode_csv_bytes(data: bytes) -> str:
    """The file's text: UTF-8 with or without a BOM; anything else is refused with a plain reason."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"the file is not UTF-8 (byte {exc.start}); save it from Excel as 'CSV UTF-8 (comma delimited)'"
        ) from None
