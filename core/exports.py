"""CSV and XLSX writers of the tables people export (SPEC §6, §10; RELIABILITY R08).

Pure functions: rows (dicts) and a column list in, file bytes out. Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return: a client or person named "=HYPERLINK(…)") is neutralised with a leading
apostrophe, so an exported file is safe to open in Excel.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

TEXT, INT, PERCENT, MONEY, MONTH = "text", "int", "percent", "money", "month"
_XLSX_FORMATS = {INT: "#,##0", PERCENT: "0.0%", MONEY: "#,##0.00", MONTH: "yyyy-mm"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    kind: str = INT


def cell_safe(value: str) -> str:
    """``value`` with a leading apostrophe when a spreadsheet would read it as a formula."""
    return f"'{value}" if value.startswith(FORMULA_TRIGGERS) else value


def _csv_value(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == PERCENT:
        return round(100 * value, 1)
    if kind == MONTH and isinstance(value, datetime.date):
        return value.strftime("%Y-%m")
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if isinstance(value, str):
        return cell_safe(value)
    return value


def table_csv(columns: Sequence[Column], rows: Sequence[dict]) -> bytes:
    """UTF-8 with a byte order mark (Excel then reads Cyrillic right), comma-separated; rates in
    percent with one decimal, money in roubles with kopecks, months as YYYY-MM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([cell_safe(str(column.label)) for column in columns])
    for row in rows:
        writer.writerow([_csv_value(row.get(column.key), column.kind) for column in columns])
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str):
        return cell_safe(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def table_xlsx(columns: Sequence[Column], rows: Sequence[dict], *, title: str) -> bytes:
    """One sheet with a bold, frozen header row; numbers stay numbers (rates as percentages,
    money with kopecks), text is never a formula. Written in openpyxl's streaming mode: a client
    list of 60,000 rows must not hold a full workbook of cell objects in memory."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title(title))
    for index, column in enumerate(columns, start=1):
        texts = [str(row.get(column.key) or "") for row in rows] if column.kind == TEXT else []
        widest = max([len(str(column.label)), *map(len, texts)])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(10, widest + 2), 48)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=_xlsx_value(str(column.label), TEXT))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    formats = [_XLSX_FORMATS.get(column.kind) for column in columns]
    for row in rows:
        values = []
        for column, number_format in zip(columns, formats, strict=True):
            value = _xlsx_value(row.get(column.key), column.kind)
            if number_format and value is not None:
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = number_format
                value = cell
            values.append(value)
        sheet.append(values)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def sheet_title(title: str) -> str:
    """A valid worksheet name: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = "".join(" " if char in "[]:*?/\\" else char for char in title).strip()
    return cleaned[:31] or "Sheet"
