"""Reading question banks and appraisal grades from .xlsx files, validated whole.

Nothing here writes: `parse_questions` / `parse_appraisals` read the first worksheet row
by row (openpyxl read-only) and return the cleaned rows plus every error found, each
with its sheet, row and column. The services write only when there is no error at all.

Question sheet (the page's help says the same). The header row is the first of the top
ten rows naming a known column; headers may be Chinese or English:

    题型 / type        单选 / 多选 / 判断 (or single / multiple / true_false)
    题目 / question    the question text (required)
    选项A … 选项F / option A … option F   the options of a choice question
    答案 / answer      letters for choice questions (A, AC, A,C, A、C);
                       正确 / 错误 (对 / 错, √ / ×, T / F, true / false) for 判断
    解析 / explanation optional
    标签 / tags        optional, separated by , ， 、 ; or ；

Appraisal sheet: 工号 / employee number, 考核等次 / grade (优秀 / 称职 / 基本称职 / 不称职,
or excellent / competent / basic / incompetent), optionally 姓名 / name (checked against
the person) and 年度 / year (checked against the year being imported).
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from learning_portal.uploads import validate_upload

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
FORMULA_START = ("=", "+", "-", "@")
LETTERS = "ABCDEF"
TAG_SPLIT = re.compile(r"[,，、;；]+")


@dataclass(frozen=True)
class SheetError:
    """One problem in an uploaded sheet: where (sheet, row, column) and what."""

    sheet: str
    row: int | None
    column: str
    message: str

    @property
    def location(self) -> str:
        parts = [_("sheet “%(s)s”") % {"s": self.sheet}]
        if self.row:
            parts.append(_("row %(r)s") % {"r": self.row})
        if self.column:
            parts.append(_("column “%(c)s”") % {"c": self.column})
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


@dataclass
class ParsedQuestion:
    row: int
    kind: str
    text: str
    choices: list[tuple[str, bool]]
    explanation: str
    tags: list[str]


@dataclass
class ParsedAppraisal:
    row: int
    employee_no: str
    name: str
    grade: str


@dataclass
class Parsed:
    sheet: str = ""
    rows: list = field(default_factory=list)
    errors: list[SheetError] = field(default_factory=list)


def clean_text(value: Any) -> str:
    """A cell as text: NFKC-normalised, zero-width characters and outer spaces removed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).translate(ZERO_WIDTH)
    return text.strip()


def _header_key(text: str) -> str:
    return re.sub(r"[\s_]+", "", clean_text(text).lower())


def _read_sheet(file: IO[bytes], *, filename: str) -> tuple[str, Iterator[tuple[int, list[Any]]]]:
    """Open the first worksheet; ValidationError({"file": …}) if the file is not a workbook."""
    from django.core.files.uploadedfile import UploadedFile

    upload = file if isinstance(file, UploadedFile) else UploadedFile(file, name=filename, size=_size(file))
    validate_upload(upload, kinds=("xlsx",), max_bytes=settings.EVALUATIONS_IMPORT_MAX_BYTES)
    import openpyxl

    try:
        upload.seek(0)
        book = openpyxl.load_workbook(upload, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ValidationError({"file": [_("The workbook cannot be read: %(e)s") % {"e": exc}]}) from None
    sheet = book.worksheets[0]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, list(row)
        finally:
            book.close()

    return sheet.title, rows()


def _size(file: IO[bytes]) -> int:
    position = file.tell()
    file.seek(0, 2)
    size = file.tell()
    file.seek(position)
    return size


def _find_header(
    rows: Iterator[tuple[int, list[Any]]], aliases: dict[str, str]
) -> tuple[int, dict[int, str], dict[str, str]] | None:
    """(row number, {column index: field}, {field: header text}) of the header row."""
    for number, cells in rows:
        columns: dict[int, str] = {}
        labels: dict[str, str] = {}
        for index, cell in enumerate(cells):
            key = aliases.get(_header_key(cell)) if cell is not None else None
            if key and key not in labels:
                columns[index] = key
                labels[key] = clean_text(cell)
        if columns:
            return number, columns, labels
        if number >= 10:
            return None
    return None


def _cells(cells: list[Any], columns: dict[int, str]) -> dict[str, Any]:
    return {name: cells[i] if i < len(cells) else None for i, name in columns.items()}


# --- Questions ---------------------------------------------------------------------------------

QUESTION_ALIASES: dict[str, str] = {
    "题型": "kind", "类型": "kind", "type": "kind", "kind": "kind",
    "题目": "text", "题干": "text", "试题": "text", "question": "text", "text": "text",
    "答案": "answer", "正确答案": "answer", "answer": "answer",
    "解析": "explanation", "答案解析": "explanation", "explanation": "explanation",
    "标签": "tags", "知识点": "tags", "tags": "tags", "tag": "tags",
}
for _letter in LETTERS:
    for _alias in (f"选项{_letter}", f"option{_letter}", _letter, f"{_letter}选项"):
        QUESTION_ALIASES[_alias.lower()] = f"option_{_letter}"

KIND_ALIASES = {
    "单选": "single", "单选题": "single", "single": "single", "单项选择题": "single",
    "多选": "multiple", "多选题": "multiple", "multiple": "multiple", "多项选择题": "multiple",
    "判断": "true_false", "判断题": "true_false", "truefalse": "true_false", "true_false": "true_false",
    "tf": "true_false",
}
TRUE_WORDS = {"正确", "对", "√", "t", "true", "是", "yes", "a"}
FALSE_WORDS = {"错误", "错", "×", "x", "f", "false", "否", "no", "b"}


def true_false_choices() -> list[tuple[str, bool]]:
    """The two options of a true/false question, in the portal's words (correct unset)."""
    return [(_("True"), False), (_("False"), False)]


def parse_questions(file: IO[bytes], *, filename: str) -> Parsed:
    """Read a question sheet; every error of every row is collected, nothing is written."""
    sheet, rows = _read_sheet(file, filename=filename)
    parsed = Parsed(sheet=sheet)
    header = _find_header(rows, QUESTION_ALIASES)
    if header is None:
        parsed.errors.append(SheetError(sheet, 1, "", _(
            "No header row found in the first ten rows: it needs at least 题型, 题目 and 答案 "
            "(type, question, answer)."
        )))
        return parsed
    header_row, columns, labels = header
    missing = [name for name in ("kind", "text", "answer") if name not in labels]
    if missing:
        names = {"kind": "题型 / type", "text": "题目 / question", "answer": "答案 / answer"}
        parsed.errors.append(SheetError(sheet, header_row, "", _("Missing columns: %(cols)s.") % {
            "cols": ", ".join(names[m] for m in missing)}))
        return parsed
    seen: dict[str, int] = {}
    max_rows = settings.EVALUATIONS_IMPORT_MAX_ROWS
    for number, cells in rows:
        values = _cells(cells, columns)
        if all(clean_text(v) == "" for v in values.values()):
            continue
        if len(parsed.rows) + 1 > max_rows:
            parsed.errors.append(SheetError(sheet, number, "", _(
                "The sheet has more than %(n)s questions; split it into several files.") % {"n": max_rows}))
            break
        row_errors: list[SheetError] = []

        def err(name: str, message: str, _number=number, _errors=row_errors) -> None:
            _errors.append(SheetError(sheet, _number, labels.get(name, name), message))

        texts: dict[str, str] = {}
        for name, value in values.items():
            text = clean_text(value)
            if text.startswith(FORMULA_START) and name != "answer" and not text.lstrip("+-").replace(".", "").isdigit():
                err(name, _("Formulas are not accepted; write the text itself."))
            texts[name] = text
        kind = KIND_ALIASES.get(_header_key(texts.get("kind", "")))
        if kind is None:
            err("kind", _("Unknown type “%(t)s”: use 单选, 多选 or 判断.") % {"t": texts.get("kind", "")})
        text = texts.get("text", "")
        if not text:
            err("text", _("The question is empty."))
        elif len(text) > 2000:
            err("text", _("The question is longer than 2,000 characters."))
        elif text in seen:
            err("text", _("The same question is already on row %(r)s.") % {"r": seen[text]})
        explanation = texts.get("explanation", "")
        if len(explanation) > 2000:
            err("explanation", _("The explanation is longer than 2,000 characters."))
        tags = [t.strip() for t in TAG_SPLIT.split(texts.get("tags", "")) if t.strip()]
        for tag in tags:
            if len(tag) > 50:
                err("tags", _("The tag “%(t)s…” is longer than 50 characters.") % {"t": tag[:20]})
        answer = re.sub(r"[\s,，、;；]+", "", texts.get("answer", "")).upper()
        choices: list[tuple[str, bool]] = []
        if kind == "true_false":
            word = texts.get("answer", "").strip().lower()
            if word in TRUE_WORDS:
                choices = [(label, index == 0) for index, (label, _c) in enumerate(true_false_choices())]
            elif word in FALSE_WORDS:
                choices = [(label, index == 1) for index, (label, _c) in enumerate(true_false_choices())]
            else:
                err("answer", _("Write 正确 or 错误 (true or false) as the answer of a 判断 question."))
        elif kind in ("single", "multiple"):
            options = [(letter, texts.get(f"option_{letter}", "")) for letter in LETTERS]
            present = [(letter, t) for letter, t in options if t]
            last = max((i for i, (_l, t) in enumerate(options) if t), default=-1)
            if any(not t for _l, t in options[: last + 1]):
                gap = next(letter for letter, t in options[: last + 1] if not t)
                err(f"option_{gap}", _("Option %(l)s is empty but a later option is filled.") % {"l": gap})
            if len(present) < 2:
                err("option_A", _("A choice question needs at least two options."))
            for letter, option in present:
                if len(option) > 500:
                    err(f"option_{letter}", _("The option is longer than 500 characters."))
            if not answer:
                err("answer", _("The answer is empty: write the letter(s) of the right option(s)."))
            elif not re.fullmatch(r"[A-F]+", answer):
                err("answer", _("Write the answer as option letters A–F, e.g. B or ACD (found “%(a)s”).") % {
                    "a": texts.get("answer", "")})
            else:
                letters = set(answer)
                empty = sorted(letter for letter in letters if not texts.get(f"option_{letter}"))
                if empty:
                    err("answer", _("The answer names option %(l)s, which is empty.") % {"l": ", ".join(empty)})
                if kind == "single" and len(letters) != 1:
                    err("answer", _("A 单选 (single choice) question has exactly one right option, not %(a)s.") % {
                        "a": answer})
                choices = [(t, letter in letters) for letter, t in present]
        if row_errors:
            parsed.errors.extend(row_errors)
            continue
        seen[text] = number
        parsed.rows.append(ParsedQuestion(number, kind, text, choices, explanation, tags))
    if not parsed.rows and not parsed.errors:
        parsed.errors.append(SheetError(sheet, None, "", _("The sheet has no questions below its header.")))
    return parsed


# --- Appraisal grades ---------------------------------------------------------------------------

APPRAISAL_ALIASES = {
    "工号": "employee_no", "员工编号": "employee_no", "employeenumber": "employee_no", "employeeno": "employee_no",
    "姓名": "name", "name": "name",
    "考核等次": "grade", "等次": "grade", "考核结果": "grade", "grade": "grade",
    "年度": "year", "year": "year",
}
GRADE_ALIASES = {
    "优秀": "excellent", "excellent": "excellent",
    "称职": "competent", "合格": "competent", "competent": "competent",
    "基本称职": "basic", "基本合格": "basic", "basic": "basic",
    "不称职": "incompetent", "不合格": "incompetent", "incompetent": "incompetent",
}


def parse_appraisals(file: IO[bytes], *, filename: str, year: int) -> Parsed:
    sheet, rows = _read_sheet(file, filename=filename)
    parsed = Parsed(sheet=sheet)
    header = _find_header(rows, APPRAISAL_ALIASES)
    if header is None or not {"employee_no", "grade"} <= set(header[2]):
        parsed.errors.append(SheetError(sheet, header[0] if header else 1, "", _(
            "The sheet needs the columns 工号 (employee number) and 考核等次 (grade).")))
        return parsed
    _header_row, columns, labels = header
    seen: dict[str, int] = {}
    for number, cells in rows:
        values = {k: clean_text(v) for k, v in _cells(cells, columns).items()}
        if not any(values.values()):
            continue
        if len(parsed.rows) + 1 > settings.EVALUATIONS_IMPORT_MAX_ROWS * 40:
            parsed.errors.append(SheetError(sheet, number, "", _("The sheet has too many rows.")))
            break
        errors_before = len(parsed.errors)

        def err(name: str, message: str, _number=number) -> None:
            parsed.errors.append(SheetError(sheet, _number, labels.get(name, name), message))

        employee_no = values.get("employee_no", "")
        if not employee_no:
            err("employee_no", _("The employee number is empty."))
        elif employee_no in seen:
            err("employee_no", _("%(no)s is already on row %(r)s.") % {"no": employee_no, "r": seen[employee_no]})
        grade = GRADE_ALIASES.get(values.get("grade", "").lower())
        if grade is None:
            err("grade", _("Unknown grade “%(g)s”: use 优秀, 称职, 基本称职 or 不称职.") % {"g": values.get("grade", "")})
        if values.get("year") and values["year"] != str(year):
            err("year", _("The row is for %(y)s, but grades for %(year)s are being imported.") % {
                "y": values["year"], "year": year})
        if len(parsed.errors) == errors_before:
            seen[employee_no] = number
            parsed.rows.append(ParsedAppraisal(number, employee_no, values.get("name", ""), grade))
    if not parsed.rows and not parsed.errors:
        parsed.errors.append(SheetError(sheet, None, "", _("The sheet has no rows below its header.")))
    return parsed
