"""The bureau's spreadsheets saved as CSV, read as tables of typed records. Pure: text in, records and problems out.

Every import of a bureau's file (stations, home-care providers, caregivers, elders, visits) reads it here, so they
all take the same files (UTF-8 with or without the BOM Excel writes, header names in any case and order, blank lines
skipped) and answer alike: every bad line is reported with its line number and reason, the good rows are still
returned, and an id repeated on a later line is refused there.
"""

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a line of the file was not imported."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def decode_csv_bytes(data: bytes) -> str:
    """The file's text: UTF-8 with or without a BOM; anything else is refused with a plain reason."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"the file is not UTF-8 (byte {exc.start}); save it from Excel as 'CSV UTF-8 (comma delimited)'"
        ) from None


def parse_csv(text: str, columns: tuple[Sequence[str], Sequence[str]], row: Callable[[dict[str, str]], T],
              key: Callable[[T], str], what: str) -> tuple[list[T], list[Problem]]:
    """Records for the good rows and one problem per bad row (or bad header), in file order (`parse_csv_lines`)."""
    numbered, problems = parse_csv_lines(text, columns, row, key, what)
    return [record for _, record in numbered], problems


def parse_csv_lines(text: str, columns: tuple[Sequence[str], Sequence[str]], row: Callable[[dict[str, str]], T],
                    key: Callable[[T], str], what: str) -> tuple[list[tuple[int, T]], list[Problem]]:
    """The good rows' records, each with the line it starts on (so a check made later, against the store, names its
    line too), and one problem per bad row (or bad header), in file order.

    `columns` are the required and the optional column names; `row` gets every one of them (stripped, "" when the
    file lacks an optional column or a line is short) and raises ValueError with the reason for a bad line; `key` is
    a record's id, and `what` names it in the problem of a repeated id."""
    required, optional = columns
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], [Problem(1, "the file is empty; expected a header row " + ",".join(required))]
    names = [name.strip().lower().removeprefix("\ufeff") for name in header]
    missing = [name for name in required if name not in names]
    if missing:
        return [], [Problem(1, f"header lacks column(s) {', '.join(missing)}; expected {','.join(required)}")]
    problems: list[Problem] = []
    unknown = [name for name in names if name and name not in (*required, *optional)]
    if unknown:
        known = f"known optional columns: {', '.join(optional)}" if optional else "there are no optional columns"
        problems.append(Problem(1, f"unknown column(s) {', '.join(unknown)} ignored; {known}"))
    records: list[tuple[int, T]] = []
    first_line: dict[str, int] = {}
    line = reader.line_num
    for cells in reader:
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(names):
            problems.append(Problem(start, f"{len(cells)} cells but the header has {len(names)} columns"))
            continue
        cell = {name: value.strip() for name, value in zip(names, cells, strict=False)}
        cell = {name: cell.get(name, "") for name in (*required, *optional)}
        try:
            record = row(cell)
        except ValueError as exc:
            problems.append(Problem(start, str(exc)))
            continue
        if key(record) in first_line:
            problems.append(Problem(start, f"{what} {key(record)} is already on line {first_line[key(record)]}"))
            continue
        first_line[key(record)] = start
        records.append((start, record))
    return records, problems
