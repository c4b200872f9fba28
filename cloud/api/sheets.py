"""Write a Sheet as Excel (openpyxl) or CSV (UTF-8 with BOM, so Excel opens Chinese text correctly).

Cells are never formulas. Station names and towns come from the bureau's CSV and activity themes are typed by station
staff: text such as `=HYPERLINK("http://…","点击")` would otherwise be a live formula in the bureau's spreadsheet
(openpyxl writes a string starting with `=` as a formula; Excel and WPS evaluate `=`, `+`, `-`, `@` at the start of a
CSV field, and a leading tab or carriage return can hide one). Such text gets a leading apostrophe, the usual
spreadsheet mark for "this is text"; numbers stay numbers, negative ones included.
"""

import csv
import io
from collections.abc import Iterable
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from cloud.api.assessment import Sheet
from cloud.cells import FORMULA_STARTS as FORMULA_STARTS  # where exports tests and callers have found it

Format = Literal["xlsx", "csv"]
MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}



def safe_cell(value: Any) -> Any:
    """A cell value that no spreadsheet evaluates: text that could start a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


def to_xlsx(sheet: Sheet) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = "考核" if "考核" in sheet.title else "报告"
    ws.append(safe_row([sheet.title]))
    ws["A1"].font = Font(bold=True, size=14)
    for key, value in sheet.facts:
        ws.append(safe_row([key, value]))
    ws.append([])
    ws.append(safe_row(sheet.header))
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1456A8")
    for row in sheet.rows:
        ws.append(safe_row(row))
    for column, width in zip("ABCDEFGH", (48, 22, 18, 14, 28, 12, 12, 12), strict=False):
        ws.column_dimensions[column].width = width
    for row in ws.iter_rows(min_row=header_row + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_csv(sheet: Sheet) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(safe_row([sheet.title]))
    writer.writerows(safe_row(fact) for fact in sheet.facts)
    writer.writerow([])
    writer.writerow(safe_row(sheet.header))
    writer.writerows(safe_row("" if v is None else v for v in row) for row in sheet.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render(sheet: Sheet, fmt: Format) -> bytes:
    return to_xlsx(sheet) if fmt == "xlsx" else to_csv(sheet)
