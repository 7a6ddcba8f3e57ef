"""Writing rows to CSV and XLSX safely, in constant memory.

Shared by every export (attendance, reports). Computation yields rows; these writers
only format. Every text cell that a spreadsheet would read as a formula (starting with
= + - @, or a tab / carriage return) is prefixed with an apostrophe; CSV starts with a
UTF-8 BOM so Excel shows Chinese; datetimes are written in local time (Asia/Shanghai).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

import xlsxwriter
from django.utils import timezone
from xlsxwriter.utility import (
    _datetime_to_excel_datetime,
    _utf16_len,
    _utf16_truncate,
    xl_col_to_name,
)

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
    write = writer.writerow
    text = _text
    prefixes = FORMULA_PREFIXES
    count = 0
    for row in rows:
        # Plain text, whole numbers and decimals are written as they are (the csv module
        # writes None as "" and numbers with str(), as `_text` would); the rest (datetimes,
        # formula-like text, anything else) goes through `_text`. ~40 % of a big export.
        write([
            v if (type(v) is str and not v.startswith(prefixes)) or type(v) in _AS_IS else text(v)
            for v in row
        ])
        count += 1
    return count


_AS_IS = frozenset({int, Decimal, type(None)})


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
        writer = RowWriter(ws, datetime_format=self.datetime_format, date_format=self.date_format,
                           slow=self._write)
        count = 0
        for r, row in enumerate(rows, start=1):
            writer.write_row(r, row)
            count += 1
        return count

    def _write(self, ws, r: int, c: int, value: Any, fmt=None) -> None:
        # One cell through XlsxWriter's own writers (RowWriter's fallback; same output).
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


# --- Whole rows straight into a constant-memory sheet ----------------------------------------------

# What XlsxWriter's constant-memory writer escapes in an inline string (see its xmlwriter):
# control characters as _xHHHH_ (and a literal "_xHHHH_" by escaping its underscore), the
# two non-characters, and & < > as entities.
_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_ESCAPED_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_STRING_MAX = 32767  # UTF-16 units in a cell
_COLUMNS: list[str] = [xl_col_to_name(c) for c in range(64)]
_INF = float("inf")


def _inline_string(text: str) -> str:
    """`<is>` content of an inline string, escaped exactly as XlsxWriter escapes it."""
    if len(text) > _STRING_MAX // 2 and _utf16_len(text) > _STRING_MAX:
        text = _utf16_truncate(text, _STRING_MAX)
    if _NEEDS_ESCAPE.search(text):
        text = _ESCAPED_ESCAPE.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
        text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # XlsxWriter tests r"^\s" and r"\s$"; for a str pattern \s is str.isspace(), and "\s$"
    # can only match a last character that is whitespace itself.
    if text[:1].isspace() or text[-1:].isspace():
        return f'<is><t xml:space="preserve">{text}</t></is>'
    return f"<is><t>{text}</t></is>"


_EXCEL_EPOCH = dt.datetime(1899, 12, 31)  # noqa: DTZ001 - Excel serials count naive local days


def _excel_serial(value: dt.datetime, date_1904: bool) -> float:
    """A naive datetime as an Excel serial number, computed as XlsxWriter computes it."""
    if date_1904 or value.year <= 1900:
        return _datetime_to_excel_datetime(value, date_1904, False)
    delta = value - _EXCEL_EPOCH
    # + 1: Excel's phantom 29 February 1900 (every date after it is one day later).
    return delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / (60 * 60 * 24) + 1


class RowWriter:
    """Appends whole rows to a constant-memory XlsxWriter worksheet, fast.

    XlsxWriter spends ~10 µs on every cell (a namedtuple in a table, then attribute lists
    and escaping when the row is flushed); a 100,000-row export is a million cells. This
    writes each row's XML in one piece into the worksheet's own row file, the same XML
    XlsxWriter writes (the tests compare the two), and keeps the sheet's dimensions and
    pending-row state as XlsxWriter does, so its own writers (headers, notes, charts)
    still work on the same sheet before and after. One difference: text that looks like
    XlsxWriter's rich-string markup ("<r>…</r>") is written as the text it is, never as
    markup (XlsxWriter would paste it into the XML unescaped).

    Cell rules are those of the module: text neutralised, aware datetimes in local
    time; numbers as numbers (a Decimal in `decimal_format`, a datetime in
    `datetime_format`, a date in `date_format`, unless the row has a format of its own);
    None is no cell (or an empty formatted one when the row has a format).
    `slow(ws, row, col, value, fmt)` writes one cell through XlsxWriter: used for rows
    the fast path cannot take (a row XlsxWriter has pending data or options for).
    """

    def __init__(self, ws, *, datetime_format, date_format, decimal_format=None, slow=None) -> None:
        self.ws = ws
        self.datetime_format = datetime_format
        self.date_format = date_format
        self.decimal_format = decimal_format
        self.slow = slow
        self._xf: dict[int, tuple[object, str]] = {}
        self._columns: dict[int, str] = {}

    def _s(self, fmt) -> str:
        """The ` s="N"` attribute of a format (its index assigned on first use, as XlsxWriter does)."""
        hit = self._xf.get(id(fmt))
        if hit is None:
            hit = self._xf[id(fmt)] = (fmt, f' s="{fmt._get_xf_index()}"')
        return hit[1]

    def _column_s(self, col: int) -> str:
        """The column's own format, which XlsxWriter applies to cells without one."""
        attr = self._columns.get(col)
        if attr is None:
            info = self.ws.col_info.get(col)
            fmt = getattr(info, "column_format", None)
            attr = self._columns[col] = self._s(fmt) if fmt is not None else ""
        return attr

    def write_row(self, r: int, values: Sequence[Any], fmt=None) -> None:
        ws = self.ws
        if (
            not ws.constant_memory or r < ws.previous_row or r in ws.row_info or r in ws.comments
            or (r == ws.previous_row and any(ws.table.values())) or len(values) > len(_COLUMNS)
            or r >= ws.xls_rowmax
        ):
            self._write_slowly(r, values, fmt)
            return
        if r > ws.previous_row:
            ws._write_single_row(r)  # flushes what XlsxWriter's own writers left pending
        row = str(r + 1)
        row_s = self._s(fmt) if fmt is not None else None
        cells: list[str] = []
        first = last = -1
        for c, value in enumerate(values):
            kind = type(value)
            if kind is str:
                if value.startswith(FORMULA_PREFIXES):
                    value = "'" + value
                s = row_s if row_s is not None else self._column_s(c)
                cells.append(f'<c r="{_COLUMNS[c]}{row}"{s} t="inlineStr">{_inline_string(value)}</c>')
            elif value is None:
                if row_s is None:
                    continue
                cells.append(f'<c r="{_COLUMNS[c]}{row}"{row_s}/>')
            elif (kind is int or kind is float or kind is Decimal
                  or (kind is not bool and isinstance(value, int | float | Decimal))):
                number = float(value)
                if number != number or number in (_INF, -_INF):
                    raise TypeError("NAN/INF not supported in write_number()")
                if row_s is not None:
                    s = row_s
                elif self.decimal_format is not None and isinstance(value, Decimal):
                    s = self._s(self.decimal_format)
                else:
                    s = self._column_s(c)
                cells.append(f'<c r="{_COLUMNS[c]}{row}"{s}><v>{number:.16G}</v></c>')
            elif isinstance(value, dt.date):
                if isinstance(value, dt.datetime):
                    if value.tzinfo is not None:
                        value = local_cell(value)
                    default = self.datetime_format
                else:
                    value = dt.datetime.combine(value, dt.time())
                    default = self.date_format
                if value.tzinfo is None:
                    number = _excel_serial(value, ws.date_1904)
                else:  # an aware value local_cell left alone: XlsxWriter's own rules
                    number = _datetime_to_excel_datetime(value, ws.date_1904, ws.remove_timezone)
                s = row_s if row_s is not None else self._s(default)
                cells.append(f'<c r="{_COLUMNS[c]}{row}"{s}><v>{number:.16G}</v></c>')
            elif kind is bool:
                s = row_s if row_s is not None else self._column_s(c)
                cells.append(f'<c r="{_COLUMNS[c]}{row}"{s} t="b"><v>{int(value)}</v></c>')
            else:
                text = str(neutralise(str(value)))
                s = row_s if row_s is not None else self._column_s(c)
                cells.append(f'<c r="{_COLUMNS[c]}{row}"{s} t="inlineStr">{_inline_string(text)}</c>')
            if first < 0:
                first = c
            last = c
        if not cells:
            return
        ws._check_dimensions(r, first)
        ws._check_dimensions(r, last)
        ws._write_row(r, None)
        ws.fh.write("".join(cells) + "</row>")

    def _write_slowly(self, r: int, values: Sequence[Any], fmt) -> None:
        if self.slow is None:
            raise ValueError(f"row {r} cannot be written by the fast path")
        for c, value in enumerate(values):
            self.slow(self.ws, r, c, value, fmt)
