"""Write a Sheet as Excel (openpyxl) or CSV (UTF-8 with BOM, so Excel opens Chinese text correctly)."""

import csv
import io
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from cloud.api.assessment import Sheet

Format = Literal["xlsx", "csv"]
MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def to_xlsx(sheet: Sheet) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = "考核" if "考核" in sheet.title else "报告"
    ws.append([sheet.title])
    ws["A1"].font = Font(bold=True, size=14)
    for key, value in sheet.facts:
        ws.append([key, value])
    ws.append([])
    ws.append(list(sheet.header))
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1456A8")
    for row in sheet.rows:
        ws.append(list(row))
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
    writer.writerow([sheet.title])
    writer.writerows(sheet.facts)
    writer.writerow([])
    writer.writerow(sheet.header)
    writer.writerows(["" if v is None else v for v in row] for row in sheet.rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render(sheet: Sheet, fmt: Format) -> bytes:
    return to_xlsx(sheet) if fmt == "xlsx" else to_csv(sheet)
