"""The bureau's local holiday file: CSV `date,kind,name`, `kind` is `holiday` or `workday`.

A pure parser: text in, days or one problem per line out. It lets a bureau add a county holiday, or give the State
Council's notice for a year before the `chinesecalendar` package knows it. The calendar (`cloud.rules.calendar`)
decides what the days mean.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date

from cloud.cells import starts_formula

HEADER = ("date", "kind", "name")
KINDS = ("holiday", "workday")
MAX_NAME = 100
# A date outside this range is a typing slip (20260 for 2026), not a plan.
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_PROBLEMS = 50  # a file wrong on every line is reported by its first problems, and how many more there are


@dataclass(frozen=True, slots=True)
class LocalDay:
    """One line of the file: a day off (`holiday`) or a working day (`workday`), with its name."""

    day: date
    kind: str
    name: str
    line: int


class HolidayFileError(ValueError):
    """The file has problems; `problems` holds one plain line each ("line 4: ...")."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_holidays(text: str, *, stored: bool = False) -> list[LocalDay]:
    """Every day of the file, in file order; raises HolidayFileError listing every problem (one per line).

    A name a spreadsheet would take for a formula (`=HYPERLINK(...)`, `@SUM(...)`, `-1`) is refused: towns download
    the file and open it in Excel. `stored=True` reads a version the store already holds, which may predate that
    rule: it is still read (the calendar must not fail on it), and its download turns such names into text."""
    try:
        rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    except csv.Error as exc:  # e.g. a NUL byte: not a text CSV at all
        raise HolidayFileError([f"line 1: not a CSV text file: {exc}"]) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise HolidayFileError(["line 1: the file is empty; expected the header date,kind,name"])
    header = tuple(cell.strip().lower() for cell in rows[0])
    if header != HEADER:
        raise HolidayFileError([f"line 1: header must be date,kind,name (got {','.join(header)})"])
    problems: list[str] = []
    out: list[LocalDay] = []
    first_line: dict[date, int] = {}
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 3:
            problems.append(f"line {number}: expected 3 cells date,kind,name, got {len(cells)}")
            continue
        day_text, kind, name = (cell.strip() for cell in cells)
        kind = kind.lower()
        line_problems = []
        day: date | None = None
        try:
            day = date.fromisoformat(day_text)
            if len(day_text) != 10:
                raise ValueError
        except ValueError:
            line_problems.append(f"bad date {day_text!r} (expected YYYY-MM-DD)")
            day = None
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            line_problems.append(f"date {day_text} is outside {FIRST_YEAR}-{LAST_YEAR}")
            day = None
        if kind not in KINDS:
            line_problems.append(f"bad kind {kind!r} (expected holiday or workday)")
        if len(name) > MAX_NAME:
            line_problems.append(f"name longer than {MAX_NAME} characters")
        if any(ord(c) < 32 for c in name):
            line_problems.append("name contains control characters")
        elif starts_formula(name) and not stored:
            line_problems.append(f"name {name!r} starts with {name[0]!r}, which a spreadsheet takes for a formula: "
                                 "start the name with another character")
        if day is not None and day in first_line:
            line_problems.append(f"duplicate date {day.isoformat()} (first on line {first_line[day]})")
        if line_problems:
            problems.extend(f"line {number}: {p}" for p in line_problems)
            continue
        assert day is not None
        first_line[day] = number
        out.append(LocalDay(day, kind, name, number))
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"... and {len(problems) - MAX_PROBLEMS} more problems"]
    if problems:
        raise HolidayFileError(problems)
    return out


def to_csv(local: list[LocalDay]) -> str:
    """The days back as a file of the same format (sorted by date), e.g. to download what is in force."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for item in sorted(local, key=lambda d: d.day):
        writer.writerow([item.day.isoformat(), item.kind, item.name])
    return buffer.getvalue()
