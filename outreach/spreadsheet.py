"""Writing workbooks the product exports, safely: the one place cells are written from data.

Supplier input reaches our exports (company names, smelter names, comments). A text starting with
``=``, ``+``, ``-`` or ``@`` (or a tab / carriage return, which some spreadsheet programs skip before
reading a formula) would run as a formula when the workbook is opened: openpyxl itself stores such a
string as a formula. :func:`neutralise` prefixes it with an apostrophe so it stays text; numbers, dates
and booleans pass unchanged. Every export writes through :func:`append_row` / :func:`write_table`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
HEADER_FONT = Font(bold=True)


def neutralise(value: Any) -> Any:
    """The value as a cell may safely hold it: risky text gets a leading apostrophe."""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
    if value is None or isinstance(value, (int, float, bool, date, datetime)):
        return value
    return neutralise(str(value))


@dataclass(frozen=True)
class Formatted:
    """A number written with its number format, e.g. a share as 0.71 shown "71%" (it stays a number)."""

    value: int | float | None
    number_format: str


def append_row(ws: Worksheet, values: Iterable[Any]) -> None:
    values = list(values)
    ws.append([v.value if isinstance(v, Formatted) else neutralise(v) for v in values])
    for i, v in enumerate(values, start=1):
        if isinstance(v, Formatted) and v.value is not None:
            ws.cell(row=ws.max_row, column=i).number_format = v.number_format


def write_table(ws: Worksheet, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                widths: dict[int, int] | None = None) -> int:
    """A header row (bold, frozen) and the data rows; returns the number of data rows."""
    append_row(ws, header)
    for cell in ws[ws.max_row]:
        cell.font = HEADER_FONT
    # A coordinate, not ws.cell(): creating the cell would make append() skip a row.
    ws.freeze_panes = f"A{ws.max_row + 1}"
    n = 0
    for row in rows:
        append_row(ws, row)
        n += 1
    for i, title in enumerate(header, start=1):
        ws.column_dimensions[get_column_letter(i)].width = (widths or {}).get(i, min(max(len(str(title)) + 2, 12), 60))
    return n


def new_workbook() -> Workbook:
    """An empty workbook (no default sheet): callers create named sheets in order."""
    wb = Workbook()
    wb.remove(wb.active)
    return wb
