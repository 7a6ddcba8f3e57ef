"""Formatting report rows into files: .xlsx (native charts), .csv and PDF.

Writers never compute: they receive rows from `reports.rows` and put them on disk.
Workbooks use XlsxWriter's constant-memory mode (each row is flushed as written, so a
sheet of 200,000 people costs no more memory than one of 20) with the cell rules of
`learning_portal.spreadsheets` (formula-like text neutralised, local times). PDFs are
rendered by WeasyPrint from templates with a CJK font embedded.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from learning_portal.spreadsheets import RowWriter, XlsxWriter, local_cell, neutralise, write_csv


class ReportBuildError(Exception):
    """A build failed for a reason the requester can read (shown on the download centre)."""


# --- .xlsx ---------------------------------------------------------------------------------------


class Sheet:
    """A worksheet written row by row (constant memory: rows must come in order)."""

    def __init__(self, workbook: ReportWorkbook, title: str, header: Sequence[str],
                 widths: Sequence[int] | None = None) -> None:
        self.workbook = workbook
        self.ws = workbook.book.add_worksheet(title[:31])
        self.title = title[:31]
        self.row = 0
        self._rows = RowWriter(self.ws, datetime_format=workbook.datetime_format, date_format=workbook.date_format,
                               decimal_format=workbook.number_format, slow=workbook.write_cell)
        for col, width in enumerate(widths or [16] * len(header)):
            self.ws.set_column(col, col, width)
        if header:
            self.ws.freeze_panes(1, 0)
            self.append(header, fmt=workbook.header_format)

    def append(self, row: Sequence[Any], fmt=None) -> int:
        # Whole rows in one piece (learning_portal.spreadsheets.RowWriter): a 200,000-row
        # sheet spends most of its time here; the same cells as `write_cell`, 4–5× faster.
        self._rows.write_row(self.row, row, fmt)
        self.row += 1
        return self.row - 1

    def extend(self, rows: Iterable[Sequence[Any]]) -> int:
        count = 0
        for row in rows:
            self.append(row)
            count += 1
        return count

    def note(self, text: str) -> None:
        self.append([text], fmt=self.workbook.note_format)

    @property
    def data_rows(self) -> int:
        return max(0, self.row - 1)


class ReportWorkbook:
    """A constant-memory workbook of report sheets, with native Excel charts on demand."""

    def __init__(self, target: str | IO[bytes]) -> None:
        self._shared = XlsxWriter(target)
        self.book = self._shared.book
        self.header_format = self._shared.header_format
        self.date_format = self._shared.date_format
        self.datetime_format = self._shared.datetime_format
        self.title_format = self.book.add_format({"bold": True, "font_size": 14})
        self.note_format = self.book.add_format({"italic": True, "font_color": "#555555"})
        self.number_format = self.book.add_format({"num_format": "0.00"})

    def sheet(self, title: str, header: Sequence[str], widths: Sequence[int] | None = None) -> Sheet:
        return Sheet(self, title, header, widths)

    def write_cell(self, ws, r: int, c: int, value: Any, fmt=None) -> None:
        # One cell through XlsxWriter's undecorated writers (rows a RowWriter cannot take).
        if value is None:
            ws._write_blank(r, c, None, fmt)
        elif isinstance(value, str):
            ws._write_string(r, c, str(neutralise(value)), fmt)
        elif isinstance(value, bool):
            ws._write_boolean(r, c, value, fmt)
        elif isinstance(value, Decimal):
            ws._write_number(r, c, float(value), fmt or self.number_format)
        elif isinstance(value, int | float):
            ws._write_number(r, c, value, fmt)
        elif isinstance(value, dt.datetime):
            ws._write_datetime(r, c, local_cell(value), fmt or self.datetime_format)
        elif isinstance(value, dt.date):
            ws._write_datetime(r, c, dt.datetime.combine(value, dt.time()), fmt or self.date_format)
        else:
            ws._write_string(r, c, str(neutralise(str(value))), fmt)

    def chart(self, sheet: Sheet, anchor: str, *, kind: str, title: str, series: list[dict],
              subtype: str | None = None, y_title: str = "", size: tuple[int, int] = (520, 300),
              line_series: list[dict] | None = None) -> None:
        """A native chart on `sheet`; each series dict gives `name`, `categories` and
        `values` as (sheet title, first row, col, last row, col) ranges."""
        options = {"type": kind}
        if subtype:
            options["subtype"] = subtype
        chart = self.book.add_chart(options)
        for s in series:
            chart.add_series(_series(s))
        if line_series:
            line = self.book.add_chart({"type": "line"})
            for s in line_series:
                line.add_series(_series(s))
            chart.combine(line)
        chart.set_title({"name": title})
        if y_title and kind not in ("pie", "doughnut"):
            chart.set_y_axis({"name": y_title})
        chart.set_size({"width": size[0], "height": size[1]})
        chart.set_legend({"position": "bottom"})
        sheet.ws.insert_chart(anchor, chart)

    def close(self) -> None:
        self._shared.close()


def _series(s: dict) -> dict:
    out = {"name": s["name"], "categories": list(s["categories"]), "values": list(s["values"])}
    if s.get("labels"):
        out["data_labels"] = {"value": True}
    if s.get("pie"):
        out["data_labels"] = {"percentage": True}
    return out


# --- .csv ----------------------------------------------------------------------------------------


def csv_to(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a CSV (BOM, neutralised cells, local times) to `path`; returns the row count."""
    with open(path, "w", encoding="utf-8", newline="") as stream:
        return write_csv(stream, header, rows)


# --- PDF -----------------------------------------------------------------------------------------

# Where Debian/Ubuntu (fonts-noto-cjk, fonts-wqy-*) and RHEL put CJK fonts.
KNOWN_CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


@functools.cache
def cjk_font_path() -> str | None:
    """A font file with Chinese glyphs: the configured one, else fontconfig's choice, else a
    known path. None when the machine has no CJK font at all."""
    configured = getattr(settings, "REPORTS_PDF_FONT", "")
    if configured:
        return configured if os.path.isfile(configured) else None
    fc_list = shutil.which("fc-list")
    if fc_list:
        try:
            out = subprocess.run(  # noqa: S603 - fixed arguments, no shell
                [fc_list, ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        files = sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})
        # Prefer a regular sans face (Noto Sans CJK / Source Han Sans) over bold or serif ones.
        files.sort(key=lambda f: ("Sans" not in f, "Bold" in f or "Black" in f or "Light" in f, f))
        for file in files:
            if os.path.isfile(file):
                return file
    for file in KNOWN_CJK_FONTS:
        if os.path.isfile(file):
            return file
    return None


def font_face_css() -> str:
    """@font-face rules that make WeasyPrint embed the CJK font in every PDF."""
    path = cjk_font_path()
    if path is None:
        raise ReportBuildError(
            _("No Chinese font is installed on the report server, so the PDF cannot be made. "
              "Ask the administrator to install fonts-noto-cjk or set REPORTS_PDF_FONT; "
              "the .xlsx format works without it.")
        )
    url = Path(path).resolve().as_uri()
    # local() picks the Simplified Chinese face of a font collection when fontconfig knows
    # it; the file itself is the fallback. Either way the glyphs used are embedded.
    return (
        "@font-face { font-family: 'ReportCJK'; "
        f"src: local('Noto Sans CJK SC'), local('Source Han Sans SC'), url('{url}'); }}"
    )


def render_pdf_bytes(template: str, context: dict[str, Any]) -> bytes:
    """Render a template to PDF bytes, the CJK font embedded."""
    from weasyprint import HTML

    html = render_to_string(template, {**context, "font_face_css": font_face_css()})
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def pdf_to(path: str | os.PathLike, template: str, context: dict[str, Any]) -> int:
    data = render_pdf_bytes(template, context)
    with open(path, "wb") as stream:
        stream.write(data)
    return len(data)


def bar_width(value: Decimal | float | int | None, maximum: Decimal | float | int | None) -> int:
    """Width in % of a CSS bar (PDFs draw their small charts with plain boxes)."""
    if not value or not maximum:
        return 0
    return max(1, min(100, int(float(value) * 100 / float(maximum))))


def rows_for_pdf(rows: Iterable[Sequence[Any]], limit: int) -> tuple[list[list[str]], bool]:
    """At most `limit` rows as display strings, and whether any were left out."""
    shown: list[list[str]] = []
    more = False
    for row in rows:
        if len(shown) >= limit:
            more = True
            break
        shown.append([display(v) for v in row])
    return shown, more


def display(value: Any) -> str:
    value = local_cell(value)
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
