"""The fast row writer writes the very XML XlsxWriter writes, cell for cell."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.db import models

from learning_portal.spreadsheets import RowWriter, XlsxWriter
from reports.writers import ReportWorkbook

TZ = ZoneInfo("Asia/Shanghai")


class Size(models.IntegerChoices):
    BIG = 3, "big"


ROWS = [
    ["=1+1", "+x", "-3", "@a", "\tTab", "plain", "a & b < c > d \"q\"", "控制\x01字符", "_x0041_ literal"],
    [" leading", "trailing ", "line\n", "", None, 0, -1, 3.25, Decimal("12.50")],
    [True, False, dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC), dt.datetime(2026, 3, 2, 16, 30),
     dt.date(2026, 3, 2), Size.BIG, Decimal("-0.01"), 10**12, "\ufffe"],
    ["x" * 40000, None, None, "中文课程：《公文写作》", 1e-7, 123456789.123456789, object, "", "last"],
    [None, None, None],
    [dt.datetime(1900, 1, 1), dt.date(1900, 2, 28), dt.datetime(1900, 3, 1, 12), dt.datetime(2026, 12, 31, 23, 59, 59, 999999),
     dt.datetime(2026, 6, 30, 16, 0, tzinfo=dt.UTC), " ", "\u3000全角空格", "a\u3000"],
]


def sheet_xml(data: bytes, name: str = "xl/worksheets/sheet1.xml") -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(name)


def test_shared_xlsx_writer_rows_match_xlsxwriters_own_cells(settings):
    settings.TIME_ZONE = "Asia/Shanghai"

    def build(fast: bool) -> bytes:
        out = io.BytesIO()
        book = XlsxWriter(out)
        if fast:
            book.sheet("S", ["名称", "B"], ROWS)
        else:
            ws = book.book.add_worksheet("S")
            for col in range(2):
                ws.set_column(col, col, 16)
            for col, name in enumerate(["名称", "B"]):
                ws.write_string(0, col, name, book.header_format)
            ws.freeze_panes(1, 0)
            for r, row in enumerate(ROWS, start=1):
                for c, value in enumerate(row):
                    book._write(ws, r, c, value)
        book.close()
        return out.getvalue()

    fast, slow = build(True), build(False)
    assert sheet_xml(fast) == sheet_xml(slow)
    assert sheet_xml(fast, "xl/styles.xml") == sheet_xml(slow, "xl/styles.xml")
    ws = openpyxl.load_workbook(io.BytesIO(fast)).worksheets[0]
    assert ws["A2"].value == "'=1+1" and ws["G2"].value == 'a & b < c > d "q"'
    assert ws["C4"].value == dt.datetime(2026, 3, 2, 16, 30)  # 08:30 UTC is 16:30 in Beijing
    assert ws["I3"].value == 12.5 and ws["F4"].value == 3


def test_report_sheet_rows_with_formats_match_write_cell():
    def build(fast: bool) -> bytes:
        out = io.BytesIO()
        book = ReportWorkbook(out)
        sheet = book.sheet("Report", ["A", "B", "C"])
        if fast:
            sheet.append(["标题", None, ""], fmt=book.title_format)
            for row in ROWS:
                sheet.append(row)
            sheet.append([Decimal("1.5"), dt.date(2026, 1, 1), None], fmt=book.header_format)
            sheet.note("注：说明")
        else:
            for r, row in enumerate([["标题", None, ""], *ROWS], start=1):
                fmt = book.title_format if r == 1 else None
                for c, value in enumerate(row):
                    book.write_cell(sheet.ws, r, c, value, fmt)
            for c, value in enumerate([Decimal("1.5"), dt.date(2026, 1, 1), None]):
                book.write_cell(sheet.ws, len(ROWS) + 2, c, value, book.header_format)
            book.write_cell(sheet.ws, len(ROWS) + 3, 0, "注：说明", book.note_format)
        book.close()
        return out.getvalue()

    fast, slow = build(True), build(False)
    assert sheet_xml(fast) == sheet_xml(slow)
    assert sheet_xml(fast, "xl/styles.xml") == sheet_xml(slow, "xl/styles.xml")


def test_rich_string_markup_is_written_as_text():
    out = io.BytesIO()
    book = XlsxWriter(out)
    book.sheet("S", ["A"], [["<r><t>x</t></r>"], ["<r>"]])
    book.close()
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    assert [ws["A2"].value, ws["A3"].value] == ["<r><t>x</t></r>", "<r>"]


def test_rows_it_cannot_take_go_through_xlsxwriter_and_backwards_rows_are_refused():
    out = io.BytesIO()
    book = XlsxWriter(out)
    ws = book.book.add_worksheet("S")
    writer = RowWriter(ws, datetime_format=book.datetime_format, date_format=book.date_format,
                       slow=book._write)
    ws.write_string(1, 0, "pending")  # XlsxWriter holds row 1 until a later row comes
    writer.write_row(1, [None, "same row"])  # joins the pending row through the slow path
    writer.write_row(2, ["fast", 2])
    writer.write_row(0, ["too late"])  # constant memory: an earlier row is ignored, as XlsxWriter does
    with pytest.raises(TypeError):
        writer.write_row(3, [float("nan")])
    book.close()
    ws = openpyxl.load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    assert [ws["A1"].value, ws["A2"].value, ws["B2"].value, ws["A3"].value, ws["B3"].value] == [
        None, "pending", "same row", "fast", 2,
    ]


def test_csv_rows_are_the_cell_rules_applied_to_every_value(settings):
    import csv

    from learning_portal.spreadsheets import _text, write_csv

    settings.TIME_ZONE = "Asia/Shanghai"
    rows = [*ROWS, [None], [""], [True, 2.5, Decimal("3.10"), "=SUM(A1)", "-1", 7]]
    out = io.StringIO()
    assert write_csv(out, ["名称", "B"], rows) == len(rows)
    expected = io.StringIO()
    expected.write("\ufeff")
    writer = csv.writer(expected)
    for row in [["名称", "B"], *rows]:
        writer.writerow([_text(v) for v in row])
    assert out.getvalue() == expected.getvalue()
    assert "'=SUM(A1)" in out.getvalue() and "2026-03-02 16:30:00" in out.getvalue()
