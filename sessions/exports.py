"""Attendance exports: the selectors yield the rows, the shared writers format them.

Both formats are written to a temporary file and streamed from there, so memory stays
flat however many rows an export has.
"""

from __future__ import annotations

import io
import tempfile
from typing import IO

from django.db.models import QuerySet
from django.http import FileResponse
from django.utils.translation import gettext as _

from learning_portal.spreadsheets import XlsxWriter, write_csv
from sessions import selectors
from sessions.models import Attendance

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WIDTHS = [12, 14, 30, 10, 18, 12, 30, 18, 16, 10, 24]


def csv_file(rows: QuerySet[Attendance]) -> IO[bytes]:
    target = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the FileResponse that streams it
    text = io.TextIOWrapper(target, encoding="utf-8", newline="")
    write_csv(text, selectors.export_header(), selectors.attendance_export_rows(rows))
    text.flush()
    text.detach()
    target.seek(0)
    return target


def xlsx_file(rows: QuerySet[Attendance]) -> IO[bytes]:
    target = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the FileResponse that streams it
    writer = XlsxWriter(target)
    writer.sheet(_("Attendance"), selectors.export_header(), selectors.attendance_export_rows(rows), widths=WIDTHS)
    writer.close()
    target.seek(0)
    return target


def export_response(rows: QuerySet[Attendance], *, fmt: str, filename: str) -> FileResponse:
    """An attachment response in `fmt` ("xlsx" or "csv")."""
    if fmt == "csv":
        response = FileResponse(
            csv_file(rows), as_attachment=True, filename=f"{filename}.csv", content_type="text/csv; charset=utf-8"
        )
    else:
        response = FileResponse(xlsx_file(rows), as_attachment=True, filename=f"{filename}.xlsx", content_type=XLSX_TYPE)
    response["Cache-Control"] = "private, no-store"
    return response
