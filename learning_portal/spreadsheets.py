"""Writing rows to CSV and XLSX safely, in constant memory.

Shared by every export (attendance, reports). Computation yields rows; these writers
only format. Every text cell that a spreadsheet would read as a formula (starting with
= + - @, or a tab / carriage return) is prefixed with an apostrophe; CSV starts with a
UTF-8 BOM so Excel shows Chinese; datetimes are written in local time (Asia/Shanghai).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

import xlsxwriter
from django.utils import timezone

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def neutralise(value: Any) -> Any:
    """Make a cell value safe: formula-like text gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def local_cell(value: Any) -> Any:
    """Convert aware datetimes to naive local time (spreadsheets have no time zones)."""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def _text(value: Any) -> str:
    value = local_cell(value)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(neutralise(value) if isinstance(value, str) else value)


def write_csv(stream: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a BOM, the header and the rows to a text stream; returns the row count."""
    stream.write(BOM)
    writer = csv.writer(stream)
    writer.writerow([_text(h) for h in header])
    count = 0
    for row in rows:
        writer.writerow([_text(v) for v in row])
        count += 1
    return count


class XlsxWriter:
    """A constant-memory workbook: add sheets, append rows, close.

    Wraps XlsxWriter's `constant_memory` mode (rows are flushed to disk as written), so
    memory stays flat however many rows a sheet has.
    """

    def __init__(self, target: str | IO[bytes]):
        self.book = xlsxwriter.Workbook(
            target, {"constant_memory": True, "strings_to_formulas": False,
                     "strings_to_urls": False, "default_date_format": "yyyy-mm-dd hh:mm"}
        )
        self.header_format = self.book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.date_format = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime_format = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"})

    def sheet(self, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
              widths: Sequence[int] | None = None) -> int:
        ws = self.book.add_worksheet(title[:31])
        for col, width in enumerate(widths or [16] * len(header)):
            ws.set_column(col, col, width)
        for col, name in enumerate(header):
            ws.write_string(0, col, str(name), self.header_format)
        ws.freeze_panes(1, 0)
        count = 0
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                self._write(ws, r, c, value)
            count += 1
        return count

    def _write(self, ws, r: int, c: int, value: Any) -> None:
        value = local_cell(value)
        if value is None:
            ws.write_blank(r, c, None)
        elif isinstance(value, bool):
            ws.write_boolean(r, c, value)
        elif isinstance(value, int | float | Decimal):
            ws.write_number(r, c, float(value))
        elif isinstance(value, dt.datetime):
            ws.write_datetime(r, c, value, self.datetime_format)
        elif isinstance(value, dt.date):
            ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), self.date_format)
        else:
            ws.write_string(r, c, str(neutralise(str(value))))

    def close(self) -> None:
        self.book.close()
