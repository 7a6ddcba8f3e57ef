"""Staff roster import: read a roster file, validate it whole, and plan the changes.

Three steps, each a plain function, so the page, the command and the tests share them:

1. `parse_roster(file, filename=…)` reads an .xlsx or .csv file *row by row* (openpyxl in
   read-only mode, or the csv module) and checks every cell on its own: it needs no
   database. Its result is the cleaned rows plus every error found.
2. `load_roster_context(actor=…, employee_nos=…)` reads what the rows refer to: units,
   cadre levels, the people who already have those employee numbers, and the actor's scope.
3. `plan_roster(parsed, context)` resolves the references and compares each row with the
   person it names, giving a `RosterPlan`: one `RowChange` per row (create / update with
   the changed fields old → new / unchanged) and a list of `RosterError`.

`org.services.roster_import` runs the three steps and writes the plan only when it has no
error at all. Nothing here writes.

What a roster file looks like (the page's help says the same):

- The first worksheet of an .xlsx workbook, or a .csv file in UTF-8 (with or without BOM),
  GBK/GB18030 or UTF-16 (Excel's "Unicode text"), separated by commas, tabs or semicolons.
  The file's extension must match its content (an .xlsx is a zip with the OOXML parts).
- The header row is the first of the top ten rows that names a known column; rows above
  it (a title) are ignored. Headers may be Chinese or English: 工号 / employee number,
  姓名 / name, 单位 / unit, 职级 / cadre level, 性别 / gender, 出生日期 / birth date,
  手机 / phone, 邮箱 / e-mail, 在职 or 状态 / active. 工号, 姓名 and 单位 are required;
  unknown columns are ignored (and listed). Header cells must not be merged.
- Unit: a unit code, or the full path from the top such as 渝北市/江北区/观音桥街道.
  Cadre level: its name or code. Gender: 男/女/M/F. Active: 是/否, 在职/离职, 1/0, true/false.
- Dates: a real Excel date cell, or text written year first: 2024-01-31, 2024/1/31,
  2024.1.31, 2024年1月31日 or 20240131. A bare number (an Excel serial such as 45322) is
  refused: it is not a date anyone can read, and typed as text it is usually a mistake.
- Every text cell is normalised with NFKC (full-width digits and letters become ASCII) and
  loses zero-width characters and surrounding spaces. A cell that starts with = + - @ is
  refused (formulas and spreadsheet injections are not accepted), and so is a long number
  stored as an Excel number (Excel keeps 15 significant digits, so an 18-digit ID-card
  number has already lost its last digits: store that column as text).
- An empty cell means "not given": a new person gets the default (blank, active) and an
  existing person keeps the current value. People who are not in the file are not changed.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath
from typing import IO, Any, Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from org import selectors
from org.models import CadreLevel, OrgUnit, User

# --- The columns ---------------------------------------------------------------------------

FIELDS = (
    "employee_no",
    "name",
    "unit",
    "cadre_level",
    "gender",
    "birth_date",
    "phone",
    "email",
    "active",
)
REQUIRED_FIELDS = ("employee_no", "name", "unit")

# Translators: roster columns; the Chinese template calls them 工号, 姓名, 单位, 职级, 性别,
# 出生日期, 手机, 邮箱 and 在职 (active = still employed).
FIELD_LABELS = {
    "employee_no": gettext_lazy("employee number"),
    "name": gettext_lazy("name"),
    "unit": gettext_lazy("unit"),
    "cadre_level": gettext_lazy("cadre level"),
    "gender": gettext_lazy("gender"),
    "birth_date": gettext_lazy("birth date"),
    "phone": gettext_lazy("phone"),
    "email": gettext_lazy("e-mail"),
    "active": gettext_lazy("active"),
}

# The headers of the downloadable template, per language. They are fixed strings (not
# translations) so a template downloaded in either language always imports.
TEMPLATE_HEADERS = {
    "zh": ("工号", "姓名", "单位", "职级", "性别", "出生日期", "手机", "邮箱", "在职"),
    "en": (
        "Employee number",
        "Name",
        "Unit",
        "Cadre level",
        "Gender",
        "Birth date",
        "Phone",
        "E-mail",
        "Active",
    ),
}

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "employee_no": (
        "工号", "员工号", "员工编号", "职工号", "职工编号", "人员编号", "编号",
        "employee number", "employee no", "employee_no", "employee id", "staff number",
        "staff no", "staff id",
    ),
    "name": ("姓名", "名字", "name", "full name"),
    "unit": (
        "单位", "所在单位", "工作单位", "部门", "所在部门", "单位编码", "单位代码", "单位路径",
        "unit", "unit code", "unit path", "department", "organisation", "organization",
    ),
    "cadre_level": (
        "职级", "干部级别", "级别", "职务级别", "cadre level", "level", "grade", "rank",
    ),
    "gender": ("性别", "gender", "sex"),
    "birth_date": (
        "出生日期", "出生年月日", "生日", "birth date", "date of birth", "birthday", "dob",
    ),
    "phone": (
        "手机", "手机号", "手机号码", "电话", "联系电话", "移动电话",
        "phone", "mobile", "mobile phone", "telephone", "tel",
    ),
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e-mail", "mail"),
    "active": (
        "在职", "状态", "在职状态", "是否在职", "人员状态", "active", "status", "is active",
    ),
}

HEADER_SEARCH_ROWS = 10  # the header row must be among the first ten non-blank rows
MAX_ERRORS = 1000  # past this the file is clearly wrong; listing more helps nobody
MAX_UNPACKED_BYTES = 300 * 1024 * 1024  # a 10 MB xlsx that unpacks beyond this is a bomb
EXCEL_PRECISION_LIMIT = 10**15  # Excel keeps 15 significant digits of a number

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
_INJECTION_PREFIXES = ("=", "+", "-", "@")
_EMPLOYEE_NO_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
_PHONE_RE = re.compile(r"[0-9(][0-9 ()-]{2,19}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SCIENTIFIC_RE = re.compile(r"\d(\.\d+)?[eE]\+?\d+")
_SERIAL_RE = re.compile(r"\d{1,5}(\.\d+)?")
_DATE_PATTERNS = (
    re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[ T]0{1,2}:00(?::00)?)?"),
    re.compile(r"(\d{4})(年)(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})()(\d{2})(\d{2})"),
)
_TRUE_WORDS = frozenset({"是", "在职", "1", "true", "yes", "y", "t", "active"})
_FALSE_WORDS = frozenset(
    {"否", "离职", "退休", "不在职", "0", "false", "no", "n", "f", "inactive"}
)
_GENDER_WORDS = {
    "男": "M", "男性": "M", "m": "M", "male": "M",
    "女": "F", "女性": "F", "f": "F", "female": "F",
}


def _header_key(text: str) -> str:
    """How headers are compared: NFKC, case-folded, without spaces, marks and 'required'."""
    text = normalise_text(text).casefold()
    text = re.sub(r"[（(]?(必填|选填|required|optional)[)）]?", "", text)
    return re.sub(r"[\s_\-.*:：]", "", text)


def _build_header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for position, field_name in enumerate(FIELDS):
        template_headers = [headers[position] for headers in TEMPLATE_HEADERS.values()]
        for alias in (*HEADER_ALIASES[field_name], *template_headers):
            index[_header_key(alias)] = field_name
    return index


def normalise_text(text: str) -> str:
    """NFKC (full-width → ASCII), zero-width characters removed, surrounding spaces stripped."""
    if text.isascii():  # the common case, and NFKC leaves ASCII alone
        return text.strip()
    return unicodedata.normalize("NFKC", text.translate(_ZERO_WIDTH)).translate(_ZERO_WIDTH).strip()


_HEADER_INDEX = _build_header_index()


# --- Results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterError:
    """One problem in the file, located as a person would look for it in Excel.

    `row` is the sheet's row number (the record number for CSV), `column` the column
    letter followed by the header as written, e.g. "D (出生日期)"; both are empty for a
    problem with the whole file. `code` is a stable name for the kind of problem.
    """

    sheet: str
    row: int | None
    column: str
    message: str
    code: str = "invalid"

    @property
    def location(self) -> str:
        """`sheet!row:column`, shortened when the row or column is unknown."""
        where = self.sheet
        if self.row is not None:
            where += f"!{self.row}"
            if self.column:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        return f"{self.location} {self.message}"


@dataclass
class RosterRow:
    """One person's row after cell checks: only the fields whose cell was not empty."""

    row: int
    values: dict[str, Any]


@dataclass
class ParsedRoster:
    """What `parse_roster` read: the rows, the column of each field, and the errors."""

    sheet: str
    rows: list[RosterRow] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


Action = Literal["create", "update", "unchanged"]


@dataclass
class RowChange:
    """What importing one row does. `values` holds model field values to write."""

    row: int
    action: Action
    employee_no: str
    name: str
    person_id: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    changes: list[FieldChange] = field(default_factory=list)


@dataclass
class RosterPlan:
    sheet: str
    changes: list[RowChange] = field(default_factory=list)
    errors: list[RosterError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def count(self, action: Action) -> int:
        return sum(1 for change in self.changes if change.action == action)


# --- Reading the file -------------------------------------------------------------------------


class _FileRefused(Exception):
    """The file as a whole cannot be read; the message says why and what to do."""

    def __init__(self, message: str, *, code: str, row: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.row = row


# A cell as read: its value and a kind: "s" text, "n" number, "d" date, "b" boolean,
# "f" formula, "e" Excel error value.
Cell = tuple[Any, str]

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"


def _file_size(file: IO[bytes]) -> int:
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


def _megabytes(size: int) -> str:
    return number_format(size / (1024 * 1024), 1)


def _check_container(file: IO[bytes], *, extension: str) -> str:
    """Decide how to read the file from its content; refuse names that lie about it."""
    head = file.read(8)
    file.seek(0)
    if extension == ".xls" or (head == _OLE2_MAGIC and extension in (".xlsx", ".csv")):
        raise _FileRefused(
            _(
                "This is an old Excel 97-2003 (.xls) file or a password-protected workbook. "
                "Open it in Excel, remove any password and save it as .xlsx (Excel workbook)."
            ),
            code="wrong_type",
        )
    if extension not in (".xlsx", ".csv"):
        raise _FileRefused(
            _("Only .xlsx (Excel workbook) and .csv files can be imported, not “%(ext)s”.")
            % {"ext": extension or _("a file without extension")},
            code="wrong_type",
        )
    is_zip = head.startswith(_ZIP_MAGIC)
    if extension == ".csv" and is_zip:
        raise _FileRefused(
            _(
                "This file is named .csv but contains a zip archive (perhaps an Excel workbook "
                "that was renamed). Save it from Excel as “CSV UTF-8” or upload the .xlsx file."
            ),
            code="wrong_type",
        )
    if extension == ".xlsx":
        if not is_zip:
            raise _FileRefused(
                _(
                    "This file is named .xlsx but is not an Excel workbook (perhaps a renamed "
                    "CSV or another file). Open it in Excel and save it as .xlsx."
                ),
                code="wrong_type",
            )
        try:
            with zipfile.ZipFile(file) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise _FileRefused(
                _("This .xlsx file is damaged and cannot be opened. Save it again from Excel."),
                code="wrong_type",
            ) from exc
        finally:
            file.seek(0)
        names = {info.filename for info in infos}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise _FileRefused(
                _(
                    "This file is a zip archive but not an Excel workbook (for example a renamed "
                    "Word document). Upload a roster saved from Excel as .xlsx."
                ),
                code="wrong_type",
            )
        if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
            raise _FileRefused(
                _("This workbook unpacks to more than %(size)s MB. Remove images and other sheets.")
                % {"size": _megabytes(MAX_UNPACKED_BYTES)},
                code="too_large",
            )
        return "xlsx"
    return "csv"


def _detect_encoding(file: IO[bytes]) -> str:
    """UTF-8 (BOM or not) when the whole file decodes as UTF-8, else GB18030 (⊃ GBK).

    The check streams the file once with an incremental decoder: constant memory.
    """
    head = file.read(4)
    file.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoding = "utf-8"
    while chunk := file.read(1024 * 1024):
        if b"\x00" in chunk:
            file.seek(0)
            raise _FileRefused(
                _("This file is not a text (CSV) file. Save the roster from Excel as CSV or .xlsx."),
                code="wrong_type",
            )
        if encoding == "utf-8":
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                encoding = "gb18030"
    if encoding == "utf-8":
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            encoding = "gb18030"
    file.seek(0)
    return encoding


def _csv_rows(file: IO[bytes]) -> Iterator[tuple[int, list[Cell]]]:
    encoding = _detect_encoding(file)
    text = io.TextIOWrapper(file, encoding=encoding, errors="strict", newline="")
    record = 0
    try:
        first = text.readline()
        delimiter = max((",", "\t", ";"), key=first.count) if first else ","
        reader = csv.reader(itertools.chain([first], text), delimiter=delimiter, strict=False)
        while True:
            try:
                values = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                raise _FileRefused(
                    _(
                        "The file cannot be read as text near row %(row)s: it is neither UTF-8 "
                        "nor GBK. Save it from Excel as “CSV UTF-8”."
                    )
                    % {"row": record + 1},
                    code="encoding",
                    row=record + 1,
                ) from exc
            except csv.Error as exc:
                raise _FileRefused(
                    _("Row %(row)s is not valid CSV (%(problem)s). Save the file again from Excel.")
                    % {"row": record + 1, "problem": exc},
                    code="csv",
                    row=record + 1,
                ) from exc
            record += 1
            yield record, [(value, "s") for value in values]
    except UnicodeDecodeError as exc:  # raised by readline() on the first line
        raise _FileRefused(
            _("The file cannot be read as text: it is neither UTF-8 nor GBK. Save it as CSV."),
            code="encoding",
            row=1,
        ) from exc
    finally:
        text.detach()  # leave the caller's file open; they close it


_MERGE_RE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Za-z]+\d+(?::[A-Za-z]+\d+)?)\"")


def _merged_ranges(archive_file: IO[bytes], sheet_path: str) -> list[tuple[int, int, int, int]]:
    """Merged ranges of a sheet as (min_col, min_row, max_col, max_row), by scanning its XML.

    openpyxl's read-only mode does not report merges; they sit after the cell data, so
    the sheet part is scanned in chunks (constant memory) for `<mergeCell ref="…">`.
    """
    from openpyxl.utils.cell import range_boundaries

    refs: set[bytes] = set()
    archive_file.seek(0)
    with zipfile.ZipFile(archive_file) as archive, archive.open(sheet_path) as part:
        tail = b""
        while chunk := part.read(1024 * 1024):
            window = tail + chunk
            refs.update(match.group(1) for match in _MERGE_RE.finditer(window))
            tail = window[-512:]
    archive_file.seek(0)
    return sorted(range_boundaries(ref.decode()) for ref in refs)  # type: ignore[misc]


class _XlsxReader:
    """Streams the first worksheet of a workbook; also reports its merged ranges."""

    def __init__(self, file: IO[bytes]) -> None:
        import openpyxl

        try:
            self.workbook = openpyxl.load_workbook(
                file, read_only=True, data_only=False, keep_links=False
            )
        except Exception as exc:  # any parser failure on untrusted input is a bad file
            raise _FileRefused(
                _("This .xlsx file is damaged and cannot be opened. Save it again from Excel."),
                code="wrong_type",
            ) from exc
        if not self.workbook.worksheets:
            self.workbook.close()
            raise _FileRefused(_("The workbook has no worksheet."), code="empty")
        self.sheet = self.workbook.worksheets[0]
        sheet_path = getattr(self.sheet, "_worksheet_path", None)
        try:
            self.merged = _merged_ranges(file, sheet_path) if sheet_path else []
        except Exception as exc:  # any parser failure on untrusted input is a bad file
            self.workbook.close()
            raise _FileRefused(
                _("This .xlsx file is damaged and cannot be opened. Save it again from Excel."),
                code="wrong_type",
            ) from exc
        # Some programs write a wrong <dimension>; trusting it would cut rows or columns.
        self.sheet.reset_dimensions()

    @property
    def title(self) -> str:
        return self.sheet.title

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        try:
            for number, row in enumerate(self.sheet.iter_rows(), start=1):
                yield number, [(cell.value, cell.data_type) for cell in row]
        except Exception as exc:  # any parser failure on untrusted input is a bad file
            raise _FileRefused(
                _("This .xlsx file is damaged and cannot be read. Save it again from Excel."),
                code="wrong_type",
            ) from exc

    def close(self) -> None:
        self.workbook.close()


# --- Checking cells ---------------------------------------------------------------------------


class _CellError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _text(value: Any, kind: str) -> str | None:
    """A cell as normalised text, refusing what cannot be trusted; None when empty."""
    if value is None:
        return None
    if kind == "f":
        raise _CellError(
            _(
                "Formulas are not accepted: this cell holds a formula. Copy the column and "
                "paste it back as values."
            ),
            "formula",
        )
    if kind == "e":
        raise _CellError(
            _("This cell shows the Excel error %(value)s; correct it.") % {"value": value},
            "excel_error",
        )
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        if isinstance(value, float) and not value.is_integer():
            raise _CellError(
                _("“%(value)s” is a decimal number; store this column as text.") % {"value": value},
                "number",
            )
        if abs(value) >= EXCEL_PRECISION_LIMIT:
            raise _CellError(
                _(
                    "This long number is stored as an Excel number, so its last digits are lost "
                    "(Excel keeps only 15). Format the column as Text and type the numbers again."
                ),
                "precision_lost",
            )
        return str(int(value))
    if isinstance(value, date | time):
        raise _CellError(
            _("This cell is a date or time, but the column expects text."), "unexpected_date"
        )
    text = normalise_text(str(value))
    if not text:
        return None
    if text.startswith(_INJECTION_PREFIXES):
        raise _CellError(
            _(
                "A cell may not start with = + - or @: formulas and spreadsheet injections are "
                "not accepted. Remove the leading character."
            ),
            "formula",
        )
    if _CONTROL_RE.search(text):
        raise _CellError(
            _("This cell contains invisible control characters (line breaks, tabs…); remove them."),
            "control_chars",
        )
    if _SCIENTIFIC_RE.fullmatch(text):
        raise _CellError(
            _(
                "“%(value)s” is a number Excel shortened to scientific notation, so its digits "
                "are lost. Format the column as Text and type the numbers again."
            )
            % {"value": text},
            "precision_lost",
        )
    return text


def _too_long(text: str, limit: int) -> None:
    if len(text) > limit:
        raise _CellError(
            _("This cell is longer than %(limit)s characters.") % {"limit": limit}, "too_long"
        )


def _clean_employee_no(value: Any, kind: str, today: date) -> str | None:
    text = _text(value, kind)
    if text is not None and not _EMPLOYEE_NO_RE.fullmatch(text):
        raise _CellError(
            _(
                "Employee number “%(value)s” may only use letters, digits, “.”, “_” and “-” "
                "(at most 32 characters)."
            )
            % {"value": text},
            "employee_no",
        )
    return text


def _clean_name(value: Any, kind: str, today: date) -> str | None:
    text = _text(value, kind)
    if text is not None:
        _too_long(text, 50)
    return text


def _clean_unit(value: Any, kind: str, today: date) -> str | None:
    text = _text(value, kind)
    if text is None:
        return None
    _too_long(text, 500)
    return "/".join(part.strip() for part in text.split("/"))


def _clean_cadre_level(value: Any, kind: str, today: date) -> str | None:
    text = _text(value, kind)
    if text is not None:
        _too_long(text, 50)
    return text


def _clean_gender(value: Any, kind: str, today: date) -> str | None:
    text = _text(value, kind)
    if text is None:
        return None
    gender = _GENDER_WORDS.get(text.casefold())
    if gender is None:
        raise _CellError(
            _("Gender “%(value)s” is not understood; write 男 or 女 (or M / F).") % {"value": text},
            "gender",
        )
    return gender


def _clean_birth_date(value: Any, kind: str, today: date) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif kind == "n" and isinstance(value, int | float) and not isinstance(value, bool):
        raise _CellError(
            _(
                "“%(value)s” is a number, not a date (an Excel date serial?). Format the cell as "
                "a date, or type the date as text such as 1985-03-21."
            )
            % {"value": value},
            "date_serial",
        )
    else:
        text = _text(value, kind)
        if text is None:
            return None
        day = _parse_date_text(text)
    if day.year < 1900 or day > today:
        raise _CellError(
            _("Birth date %(value)s is not plausible: it must lie between 1900 and today.")
            % {"value": day.isoformat()},
            "date_range",
        )
    return day


def _parse_date_text(text: str) -> date:
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            year, _sep, month, day = match.groups()
            try:
                return date(int(year), int(month), int(day))
            except ValueError as exc:
                raise _CellError(
                    _("“%(value)s” is not a real date (check the month and day).") % {"value": text},
                    "date_impossible",
                ) from exc
    if _SERIAL_RE.fullmatch(text):
        raise _CellError(
            _(
                "“%(value)s” looks like an Excel date serial typed as text. Type the date itself, "
                "such as 1985-03-21."
            )
            % {"value": text},
            "date_serial",
        )
    raise _CellError(
        _(
            "“%(value)s” is not a date in an accepted form. Write the year first: 1985-03-21, "
            "1985/3/21, 1985.3.21 or 1985年3月21日."
        )
        % {"value": text},
        "date_format",
    )


def _clean_phone(value: Any, kind: str, today: date) -> str | None:
    text = _text(value, kind)
    if text is not None and not (_PHONE_RE.fullmatch(text) and sum(c.isdigit() for c in text) >= 3):
        raise _CellError(
            _(
                "Phone “%(value)s” may only use digits, spaces, “-” and brackets (at most 20 "
                "characters)."
            )
            % {"value": text},
            "phone",
        )
    return text


def _clean_email(value: Any, kind: str, today: date) -> str | None:
    text = _text(value, kind)
    if text is None:
        return None
    try:
        _too_long(text, 254)
        validate_email(text)
    except ValidationError as exc:
        raise _CellError(
            _("“%(value)s” is not a valid e-mail address.") % {"value": text}, "email"
        ) from exc
    return text


def _clean_active(value: Any, kind: str, today: date) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value, kind)
    if text is None:
        return None
    word = text.casefold()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise _CellError(
        _("“%(value)s” is not understood; write 是 or 否 (or 1 / 0, true / false).")
        % {"value": text},
        "active",
    )


_CLEANERS = {
    "employee_no": _clean_employee_no,
    "name": _clean_name,
    "unit": _clean_unit,
    "cadre_level": _clean_cadre_level,
    "gender": _clean_gender,
    "birth_date": _clean_birth_date,
    "phone": _clean_phone,
    "email": _clean_email,
    "active": _clean_active,
}


# --- parse_roster ----------------------------------------------------------------------------


def _is_blank(cells: list[Cell]) -> bool:
    for value, _kind in cells:
        if value is None:
            continue
        if not isinstance(value, str) or normalise_text(value):
            return False
    return True


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


class _Collector:
    """Collects errors; stops the parse once there are too many to be useful."""

    class Full(Exception):
        pass

    def __init__(self, sheet: str, errors: list[RosterError]) -> None:
        self.sheet = sheet
        self.errors = errors

    def add(self, row: int | None, column: str, message: str, code: str) -> None:
        self.errors.append(RosterError(self.sheet, row, column, message, code))
        if len(self.errors) >= MAX_ERRORS:
            self.errors.append(
                RosterError(
                    self.sheet,
                    None,
                    "",
                    _("Stopped after %(count)s errors. Correct these and upload the file again.")
                    % {"count": number_format(MAX_ERRORS, force_grouping=True)},
                    "too_many_errors",
                )
            )
            raise self.Full


def parse_roster(
    file: IO[bytes],
    *,
    filename: str,
    max_rows: int | None = None,
    max_bytes: int | None = None,
    today: date | None = None,
) -> ParsedRoster:
    """Read and check a roster file without touching the database.

    `file` is a seekable binary file; it is left open. Every problem is collected (up to
    MAX_ERRORS); file-level problems (wrong type, empty, too big…) end the reading at once.
    """
    max_rows = settings.ROSTER_MAX_ROWS if max_rows is None else max_rows
    max_bytes = settings.ROSTER_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    today = today or timezone.localdate()
    display_name = PurePath(filename).name[:100] or "roster"
    parsed = ParsedRoster(sheet=display_name)
    collector = _Collector(display_name, parsed.errors)
    reader: _XlsxReader | None = None
    try:
        size = _file_size(file)
        if size == 0:
            raise _FileRefused(_("The file is empty."), code="empty")
        if size > max_bytes:
            raise _FileRefused(
                _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.")
                % {"size": _megabytes(size), "limit": _megabytes(max_bytes)},
                code="too_large",
            )
        kind = _check_container(file, extension=PurePath(filename).suffix.lower())
        if kind == "xlsx":
            reader = _XlsxReader(file)
            parsed.sheet = collector.sheet = reader.title
            rows = reader.rows()
            merged = reader.merged
        else:
            rows = _csv_rows(file)
            merged = []
        _parse_rows(rows, merged, parsed, collector, max_rows=max_rows, today=today)
    except _FileRefused as refused:
        parsed.errors.append(
            RosterError(collector.sheet, refused.row, "", refused.message, refused.code)
        )
    except _Collector.Full:
        pass
    finally:
        if reader is not None:
            reader.close()
    if parsed.errors:
        parsed.rows = []
    return parsed


def _find_header(
    rows: Iterator[tuple[int, list[Cell]]],
) -> tuple[int, list[Cell]]:
    """The first row (among the first non-blank ones) that names at least one known column."""
    seen = 0
    for number, cells in rows:
        if _is_blank(cells):
            continue
        seen += 1
        if any(
            isinstance(value, str) and _header_key(value) in _HEADER_INDEX for value, _k in cells
        ):
            return number, cells
        if seen >= HEADER_SEARCH_ROWS:
            break
    if seen == 0:
        raise _FileRefused(_("The file is empty: it has no rows."), code="empty")
    raise _FileRefused(
        _(
            "No header row found. The first row must name the columns: 工号, 姓名, 单位 (and "
            "optionally 职级, 性别, 出生日期, 手机, 邮箱, 在职). Download the template to see it."
        ),
        code="missing_header",
    )


def _parse_rows(
    rows: Iterator[tuple[int, list[Cell]]],
    merged: list[tuple[int, int, int, int]],
    parsed: ParsedRoster,
    collector: _Collector,
    *,
    max_rows: int,
    today: date,
) -> None:
    header_row, header_cells = _find_header(rows)

    # Map columns to fields.
    field_at: dict[int, str] = {}
    for index, (value, _kind) in enumerate(header_cells):
        if value is None or not isinstance(value, str) or not normalise_text(value):
            continue
        label = normalise_text(value)
        column = f"{_column_letter(index)} ({label})"
        field_name = _HEADER_INDEX.get(_header_key(value))
        if field_name is None:
            parsed.ignored_columns.append(label)
        elif field_name in parsed.columns:
            collector.add(
                header_row,
                column,
                _("This column repeats the column %(other)s; keep only one.")
                % {"other": parsed.columns[field_name]},
                "duplicate_header",
            )
        else:
            parsed.columns[field_name] = column
            field_at[index] = field_name

    for min_col, min_row, max_col, max_row in merged:
        if max_row < header_row:
            continue  # a merged title above the header is fine
        span = f"{_column_letter(min_col - 1)}{min_row}:{_column_letter(max_col - 1)}{max_row}"
        if min_row <= header_row:
            collector.add(
                header_row,
                _column_letter(min_col - 1),
                _("Header cells %(range)s are merged. Unmerge them so every column has its own header.")
                % {"range": span},
                "merged_header",
            )
        else:
            collector.add(
                min_row,
                _column_letter(min_col - 1),
                _("Cells %(range)s are merged. Unmerge them and fill in every cell.")
                % {"range": span},
                "merged_cells",
            )

    missing = [f for f in REQUIRED_FIELDS if f not in parsed.columns]
    if missing:
        collector.add(
            header_row,
            "",
            _("Required columns are missing: %(columns)s. Add them to the header row.")
            % {"columns": "、".join(TEMPLATE_HEADERS["zh"][FIELDS.index(f)] for f in missing)},
            "missing_header",
        )
    if parsed.errors:
        return  # without a sound header, cell errors would only be noise

    first_row_of: dict[str, int] = {}
    data_rows = 0
    for number, cells in rows:
        if _is_blank(cells):
            if number - header_row > 2 * max_rows:
                raise _FileRefused(
                    _(
                        "The sheet goes on past row %(row)s with empty rows. Delete the empty rows "
                        "at the end of the sheet."
                    )
                    % {"row": number_format(number, force_grouping=True)},
                    code="too_many_rows",
                )
            continue
        data_rows += 1
        if data_rows > max_rows:
            raise _FileRefused(
                _(
                    "The file has more than %(max)s people. Import at most %(max)s rows at a "
                    "time: split the file."
                )
                % {"max": number_format(max_rows, force_grouping=True)},
                code="too_many_rows",
            )
        values: dict[str, Any] = {}
        refused: set[str] = set()
        for index, field_name in field_at.items():
            value, kind = cells[index] if index < len(cells) else (None, "s")
            try:
                cleaned = _CLEANERS[field_name](value, kind, today)
            except _CellError as problem:
                refused.add(field_name)
                collector.add(number, parsed.columns[field_name], problem.message, problem.code)
                continue
            if cleaned is not None:
                values[field_name] = cleaned
        for field_name in REQUIRED_FIELDS:
            if field_name not in values and field_name not in refused:
                collector.add(
                    number,
                    parsed.columns[field_name],
                    _("The %(field)s is required.") % {"field": FIELD_LABELS[field_name]},
                    "required",
                )
        employee_no = values.get("employee_no")
        if employee_no is not None:
            first = first_row_of.setdefault(employee_no, number)
            if first != number:
                collector.add(
                    number,
                    parsed.columns["employee_no"],
                    _(
                        "Employee number “%(no)s” is also on row %(row)s; each person may "
                        "appear only once."
                    )
                    % {"no": employee_no, "row": first},
                    "duplicate",
                )
        parsed.rows.append(RosterRow(row=number, values=values))
    if data_rows == 0:
        collector.add(
            header_row,
            "",
            _("The file has a header row but no people below it."),
            "empty",
        )


# --- Context: what the rows refer to -------------------------------------------------------


@dataclass(frozen=True)
class UnitRef:
    pk: int
    code: str
    path: str
    full_name: str
    is_active: bool


@dataclass(frozen=True)
class PersonRef:
    """The current values of a person an employee number in the file already names."""

    pk: int
    employee_no: str
    name: str
    unit_id: int | None
    cadre_level_id: int | None
    gender: str
    birth_date: date | None
    phone: str
    email: str
    is_active: bool
    is_superuser: bool


@dataclass
class RosterContext:
    """Everything `plan_roster` needs from the database, read in a few queries."""

    units: dict[int, UnitRef]
    units_by_code: dict[str, UnitRef]
    units_by_full_name: dict[str, UnitRef]
    levels: dict[int, str]
    levels_by_key: dict[str, int]
    people: dict[str, PersonRef]
    manage_paths: tuple[str, ...] | None
    view_paths: tuple[str, ...] | None
    actor_id: int | None = None
    actor_is_superuser: bool = True
    actor_unit_path: str | None = None


_PERSON_FIELDS = (
    "pk", "employee_no", "name", "unit_id", "cadre_level_id", "gender", "birth_date",
    "phone", "email", "is_active", "is_superuser",
)


def can_import_roster(user: User) -> bool:
    """Unit admins (on any unit) and system admins may import rosters."""
    return selectors.scope_for(user).manage != ()


def load_roster_context(
    *, actor: User | None, employee_nos: Iterable[str], lock: bool = False
) -> RosterContext:
    """Read units, cadre levels and the named people. `actor=None` acts for the system.

    With `lock`, the named people's rows are locked (inside the caller's transaction) so
    the plan cannot go stale before it is written.
    """
    full_names = selectors.unit_full_names()
    units: dict[int, UnitRef] = {}
    for pk, code, path, is_active in OrgUnit.objects.values_list("pk", "code", "path", "is_active"):
        units[pk] = UnitRef(pk, code, path, full_names.get(pk, ""), is_active)
    levels: dict[int, str] = {}
    levels_by_key: dict[str, int] = {}
    for pk, code, name in CadreLevel.objects.values_list("pk", "code", "name"):
        levels[pk] = name
        levels_by_key.setdefault(normalise_text(name).casefold(), pk)
        levels_by_key.setdefault(normalise_text(code).casefold(), pk)
    people: dict[str, PersonRef] = {}
    wanted = sorted(set(employee_nos))
    for start in range(0, len(wanted), 500):
        found = User.objects.filter(employee_no__in=wanted[start : start + 500])
        if lock:
            found = found.select_for_update()
        for row in found.values_list(*_PERSON_FIELDS):
            person = PersonRef(*row)
            people[person.employee_no] = person
    manage = view = None
    actor_id, is_superuser, actor_unit_path = None, True, None
    if actor is not None:
        scope = selectors.scope_for(actor)
        manage, view = scope.manage, scope.view
        actor_id, is_superuser = actor.pk, actor.is_superuser
        own_unit = units.get(actor.unit_id) if actor.unit_id else None
        actor_unit_path = own_unit.path if own_unit else None
    return RosterContext(
        units=units,
        units_by_code={u.code.casefold(): u for u in units.values()},
        units_by_full_name={normalise_text(u.full_name): u for u in units.values()},
        levels=levels,
        levels_by_key=levels_by_key,
        people=people,
        manage_paths=manage,
        view_paths=view,
        actor_id=actor_id,
        actor_is_superuser=is_superuser,
        actor_unit_path=actor_unit_path,
    )


def _within(path: str | None, paths: tuple[str, ...] | None) -> bool:
    if paths is None:
        return True
    return path is not None and any(path.startswith(p) for p in paths)


# --- plan_roster -----------------------------------------------------------------------------


def _yes_no(value: bool) -> str:
    return _("yes") if value else _("no")


def plan_roster(parsed: ParsedRoster, context: RosterContext) -> RosterPlan:
    """Resolve each row against the database and say what importing it would change."""
    plan = RosterPlan(
        sheet=parsed.sheet, errors=list(parsed.errors), ignored_columns=parsed.ignored_columns
    )
    if parsed.errors:
        return plan
    collector = _Collector(parsed.sheet, plan.errors)
    try:
        for row in parsed.rows:
            change = _plan_row(row, parsed.columns, context, collector)
            if change is not None:
                plan.changes.append(change)
    except _Collector.Full:
        pass
    if plan.errors:
        plan.changes = []
    return plan


def _resolve_unit(ref: str, context: RosterContext) -> UnitRef | None:
    unit = None
    if "/" not in ref:
        unit = context.units_by_code.get(ref.casefold())
    return unit or context.units_by_full_name.get(ref)


def _plan_row(
    row: RosterRow,
    columns: dict[str, str],
    context: RosterContext,
    collector: _Collector,
) -> RowChange | None:
    values = row.values
    target: dict[str, Any] = {}
    ok = True

    unit = _resolve_unit(values["unit"], context)
    if unit is None or not (
        _within(unit.path, context.view_paths) or unit.path == context.actor_unit_path
    ):
        # A unit the importer cannot even see is reported exactly like an unknown one.
        collector.add(
            row.row,
            columns["unit"],
            _(
                "No unit has the code or full path “%(unit)s”. Use a unit code or the full path "
                "from the top, such as 渝北市/江北区/观音桥街道 (the template lists your units)."
            )
            % {"unit": values["unit"]},
            "unknown_unit",
        )
        ok = False
    elif not _within(unit.path, context.manage_paths):
        collector.add(
            row.row,
            columns["unit"],
            _("Unit “%(unit)s” is outside the units you manage.") % {"unit": unit.full_name},
            "unit_out_of_scope",
        )
        ok = False
    elif not unit.is_active:
        collector.add(
            row.row,
            columns["unit"],
            _("Unit “%(unit)s” is closed (inactive); choose an active unit.")
            % {"unit": unit.full_name},
            "unit_inactive",
        )
        ok = False
    else:
        target["unit_id"] = unit.pk

    if "cadre_level" in values:
        level_id = context.levels_by_key.get(values["cadre_level"].casefold())
        if level_id is None:
            known = list(context.levels.values())
            collector.add(
                row.row,
                columns["cadre_level"],
                _("Unknown cadre level “%(level)s”. Use one of: %(known)s (name or code).")
                % {
                    "level": values["cadre_level"],
                    "known": "、".join(known[:20]) or _("(none defined yet)"),
                },
                "unknown_cadre_level",
            )
            ok = False
        else:
            target["cadre_level_id"] = level_id

    target["name"] = values["name"]
    for source, model_field in (
        ("gender", "gender"),
        ("birth_date", "birth_date"),
        ("phone", "phone"),
        ("email", "email"),
        ("active", "is_active"),
    ):
        if source in values:
            target[model_field] = values[source]

    employee_no = values["employee_no"]
    person = context.people.get(employee_no)
    if person is not None:
        person_unit = context.units.get(person.unit_id) if person.unit_id else None
        if not _within(person_unit.path if person_unit else None, context.manage_paths):
            # Say nothing about who it is: the importer may not see that person.
            collector.add(
                row.row,
                columns["employee_no"],
                _(
                    "Employee number “%(no)s” already belongs to someone outside the units you "
                    "manage. Check the number, or ask a system administrator."
                )
                % {"no": employee_no},
                "employee_no_taken",
            )
            return None
        if person.is_superuser and not context.actor_is_superuser:
            collector.add(
                row.row,
                columns["employee_no"],
                _(
                    "Employee number “%(no)s” is a system administrator's account; only a system "
                    "administrator may change it."
                )
                % {"no": employee_no},
                "employee_no_admin",
            )
            return None
        if person.pk == context.actor_id and target.get("is_active") is False:
            collector.add(
                row.row,
                columns["active"],
                _("You cannot deactivate your own account by import."),
                "self_deactivate",
            )
            return None
    if not ok:
        return None
    if person is None:
        return RowChange(
            row=row.row,
            action="create",
            employee_no=employee_no,
            name=values["name"],
            values=target,
        )
    changes = [
        FieldChange(
            model_field,
            str(_MODEL_FIELD_LABELS[model_field]),
            _display(model_field, getattr(person, model_field), context),
            _display(model_field, new, context),
        )
        for model_field, new in target.items()
        if getattr(person, model_field) != new
    ]
    return RowChange(
        row=row.row,
        action="update" if changes else "unchanged",
        employee_no=employee_no,
        name=values["name"],
        person_id=person.pk,
        values={c.field: target[c.field] for c in changes},
        changes=changes,
    )


_MODEL_FIELD_LABELS = {
    "name": FIELD_LABELS["name"],
    "unit_id": FIELD_LABELS["unit"],
    "cadre_level_id": FIELD_LABELS["cadre_level"],
    "gender": FIELD_LABELS["gender"],
    "birth_date": FIELD_LABELS["birth_date"],
    "phone": FIELD_LABELS["phone"],
    "email": FIELD_LABELS["email"],
    "is_active": FIELD_LABELS["active"],
}


def _display(model_field: str, value: Any, context: RosterContext) -> str:
    """A value as the dry run shows it: full unit path, level name, 男/女, yes/no."""
    if value is None or value == "":
        return ""
    if model_field == "unit_id":
        unit = context.units.get(value)
        return unit.full_name if unit else ""
    if model_field == "cadre_level_id":
        return context.levels.get(value, "")
    if model_field == "gender":
        return str(User.Gender(value).label)
    if model_field == "birth_date":
        return value.isoformat()
    if model_field == "is_active":
        return _yes_no(value)
    return str(value)
