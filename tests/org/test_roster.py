"""Roster import: the parser (org.roster), the service (roster_import) and the command.

Every test file is built here, in memory or under tmp_path: CSV in UTF-8, UTF-8 with BOM
and GBK, and .xlsx written with openpyxl. Each bad input must give an error that says
where (sheet, row, column) and change nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from org import roster
from org.models import OrgUnit, Role, User
from org.services import roster_import
from tests.factories import CadreLevelFactory, OrgUnitFactory, RoleGrantFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = ["工号", "姓名", "单位", "职级", "性别", "出生日期", "手机", "邮箱", "在职"]


@pytest.fixture(autouse=True)
def _english():
    """Assertions read English source strings, whatever the catalogue says."""
    with translation.override("en"):
        yield


@dataclass
class Org:
    city: OrgUnit
    district: OrgUnit
    street: OrgUnit
    other: OrgUnit
    other_street: OrgUnit
    admin: User
    root: User


@pytest.fixture
def org(db) -> Org:
    """渝北市 ⊃ {江北区 ⊃ 观音桥街道, 渝中区 ⊃ 解放碑街道}; the admin manages 江北区."""
    city = OrgUnitFactory(code="CITY", name="渝北市")
    district = OrgUnitFactory(code="JB", name="江北区", parent=city)
    street = OrgUnitFactory(code="GYQ", name="观音桥街道", parent=district)
    other = OrgUnitFactory(code="YZ", name="渝中区", parent=OrgUnit.objects.get(pk=city.pk))
    other_street = OrgUnitFactory(code="JFB", name="解放碑街道", parent=other)
    CadreLevelFactory(code="KJ", name="科级")
    CadreLevelFactory(code="CJ", name="处级")
    admin = UserFactory(employee_no="ADMIN1", name="管理员", unit=district)
    RoleGrantFactory(user=admin, unit=district, role=Role.UNIT_ADMIN)
    root = UserFactory(employee_no="ROOT", name="系统管理员", unit=city, is_superuser=True)
    return Org(city, district, street, other, other_street, admin, root)


def csv_bytes(rows: list[list[object]], *, encoding: str = "utf-8", header=HEADER) -> bytes:
    lines = [",".join(str(v) for v in row) for row in [header, *rows]]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: list[list[object]], *, header=HEADER, title="花名册", before=None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    if before:
        before(sheet)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run(actor, data: bytes, filename: str = "roster.csv", *, dry_run: bool = False):
    return roster_import(actor=actor, file=io.BytesIO(data), filename=filename, dry_run=dry_run)


def parse(data: bytes, filename: str = "roster.csv", **kwargs) -> roster.ParsedRoster:
    kwargs.setdefault("today", dt.date(2025, 6, 1))
    return roster.parse_roster(io.BytesIO(data), filename=filename, **kwargs)


def codes(result) -> list[str]:
    return [e.code for e in result.errors]


def snapshot() -> list[tuple]:
    """Every person's importable fields: compared before and after to prove nothing changed."""
    return list(
        User.objects.order_by("pk").values_list(
            "employee_no", "name", "unit_id", "cadre_level_id", "gender", "birth_date",
            "phone", "email", "is_active", "password",
        )
    )


ROW_ZHANG = ["E001", "张三", "JB", "科级", "男", "1985-03-21", "13800000001", "zhang@example.cn", "是"]
ROW_LI = ["E002", "李四", "渝北市/江北区/观音桥街道", "CJ", "女", "1990/1/2", "", "", "1"]


# --- Reading files ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_utf8_bom_and_gbk_imports_every_field(org, encoding):
    result = run(org.admin, csv_bytes([ROW_ZHANG, ROW_LI], encoding=encoding))

    assert result.ok, result.errors
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    zhang = User.objects.get(employee_no="E001")
    assert zhang.name == "张三"
    assert zhang.unit == org.district
    assert zhang.cadre_level.name == "科级"
    assert zhang.gender == "M"
    assert zhang.birth_date == dt.date(1985, 3, 21)
    assert (zhang.phone, zhang.email, zhang.is_active) == ("13800000001", "zhang@example.cn", True)
    li = User.objects.get(employee_no="E002")
    assert li.unit == org.street  # by full path
    assert li.cadre_level.code == "CJ"  # by code
    assert (li.gender, li.birth_date, li.phone) == ("F", dt.date(1990, 1, 2), "")


def test_xlsx_with_real_date_cells_numbers_and_booleans_imports(org):
    data = xlsx_bytes(
        [["E010", "王五", "GYQ", "科级", "F", dt.date(1988, 8, 8), 13900000002, "", False]]
    )

    result = run(org.admin, data, "花名册.xlsx")

    assert result.ok, result.errors
    person = User.objects.get(employee_no="E010")
    assert person.birth_date == dt.date(1988, 8, 8)
    assert person.phone == "13900000002"
    assert person.is_active is False
    assert person.unit == org.street


def test_tab_separated_utf16_text_from_excel_imports(org):
    text = "\t".join(HEADER) + "\r\n" + "\t".join(ROW_ZHANG) + "\r\n"

    result = run(org.admin, text.encode("utf-16"))

    assert result.ok, result.errors
    assert User.objects.get(employee_no="E001").email == "zhang@example.cn"


def test_english_headers_a_title_row_and_unknown_columns_are_accepted(org):
    header = ["Employee No.", "Name", "Unit", "Cadre level", "Gender", "Birth date", "Notes"]

    def title(sheet):
        sheet.append(["江北区人员花名册"])
        sheet.merge_cells("A1:G1")  # a merged title above the header is fine

    data = xlsx_bytes([["E020", "赵六", "JB", "KJ", "M", "1970-01-01", "备注"]], header=header, before=title)

    result = run(org.admin, data, "roster.xlsx")

    assert result.ok, result.errors
    assert result.ignored_columns == ["Notes"]
    assert User.objects.get(employee_no="E020").name == "赵六"


@pytest.mark.parametrize("text", ["2024.1.1", "2024/1/1", "2024-01-01", "2024年1月1日", "20240101"])
def test_year_first_date_forms_are_accepted(text):
    parsed = parse(csv_bytes([["E1", "甲", "JB", "", "", text, "", "", ""]]))

    assert parsed.errors == []
    assert parsed.rows[0].values["birth_date"] == dt.date(2024, 1, 1)


def test_full_width_digits_are_normalised_and_zero_width_spaces_stripped():
    row = ["Ｅ００１\u200b", "\u200b张三\u3000", "ＪＢ", "", "", "１９８５－０３－２１", "１３８\u200b０００００００１", "", ""]

    parsed = parse(csv_bytes([row]))

    assert parsed.errors == []
    values = parsed.rows[0].values
    assert values["employee_no"] == "E001"
    assert values["name"] == "张三"
    assert values["unit"] == "JB"
    assert values["birth_date"] == dt.date(1985, 3, 21)
    assert values["phone"] == "13800000001"


def test_empty_optional_cells_keep_the_current_values(org):
    run(org.admin, csv_bytes([ROW_ZHANG]))

    result = run(org.admin, csv_bytes([["E001", "张三", "JB", "", "", "", "", "", ""]]))

    assert result.ok
    assert (result.updated, result.unchanged) == (0, 1)
    zhang = User.objects.get(employee_no="E001")
    assert (zhang.phone, zhang.gender, zhang.cadre_level.name) == ("13800000001", "M", "科级")


# --- Dry run, idempotency, updates -----------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(org):
    data = csv_bytes([ROW_ZHANG, ROW_LI])
    run(org.admin, data)
    before = snapshot()

    result = run(org.admin, data)

    assert result.ok
    assert (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert snapshot() == before


def test_an_edited_file_updates_people_by_employee_number(org):
    run(org.admin, csv_bytes([ROW_ZHANG, ROW_LI]))
    edited = [*ROW_ZHANG]
    edited[2], edited[6], edited[8] = "GYQ", "13800000009", "否"

    result = run(org.admin, csv_bytes([edited, ROW_LI]))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    zhang = User.objects.get(employee_no="E001")
    assert (zhang.unit, zhang.phone, zhang.is_active) == (org.street, "13800000009", False)
    assert User.objects.filter(employee_no__in=["E001", "E002"]).count() == 2


def test_dry_run_lists_changes_old_to_new_and_writes_nothing(org):
    run(org.admin, csv_bytes([ROW_ZHANG]))
    edited = [*ROW_ZHANG]
    edited[2], edited[6] = "GYQ", "13800000009"
    before = snapshot()

    result = run(org.admin, csv_bytes([edited, ROW_LI]), dry_run=True)

    assert snapshot() == before
    assert result.ok and not result.applied
    updated, created = result.changed_rows
    assert (created.action, created.employee_no) == ("create", "E002")
    assert (updated.action, updated.employee_no) == ("update", "E001")
    changes = {c.field: (c.old, c.new) for c in updated.changes}
    assert changes == {
        "unit_id": ("渝北市/江北区", "渝北市/江北区/观音桥街道"),
        "phone": ("13800000001", "13800000009"),
    }


def test_a_write_whose_plan_differs_from_the_previewed_one_is_refused_as_stale(org):
    data = csv_bytes([ROW_ZHANG])
    preview = run(org.admin, data, dry_run=True)
    UserFactory(employee_no="E001", name="张三", unit=org.district)  # the roster moved on
    before = snapshot()

    result = roster_import(
        actor=org.admin,
        file=io.BytesIO(data),
        filename="roster.csv",
        dry_run=False,
        expected_digest=preview.digest,
    )

    assert result.stale and not result.applied
    assert [c.action for c in result.changes] == ["update"]
    assert snapshot() == before


def test_new_people_get_an_unusable_password(org):
    run(org.admin, csv_bytes([ROW_ZHANG]))

    person = User.objects.get(employee_no="E001")
    assert not person.has_usable_password()


# --- Scope -------------------------------------------------------------------------------------


def test_a_unit_outside_the_admins_subtree_is_reported_as_unknown(org):
    before = snapshot()
    row = ["E030", "孙七", "YZ", "", "", "", "", "", ""]

    result = run(org.admin, csv_bytes([ROW_ZHANG, row]))

    assert codes(result) == ["unknown_unit"]
    assert (result.errors[0].row, result.errors[0].column) == (3, "C (单位)")
    assert snapshot() == before


def test_a_visible_but_unmanaged_unit_is_reported_as_out_of_scope(org):
    RoleGrantFactory(user=org.admin, unit=org.other, role=Role.MANAGER)
    row = ["E030", "孙七", "渝北市/渝中区/解放碑街道", "", "", "", "", "", ""]

    result = run(org.admin, csv_bytes([row]))

    assert codes(result) == ["unit_out_of_scope"]
    assert not User.objects.filter(employee_no="E030").exists()


def test_an_employee_number_of_someone_outside_scope_is_refused_without_naming_them(org):
    UserFactory(employee_no="E777", name="外单位某人", unit=org.other_street, phone="1")
    before = snapshot()

    result = run(org.admin, csv_bytes([["E777", "冒名", "JB", "", "", "", "", "", ""]]))

    assert codes(result) == ["employee_no_taken"]
    message = result.errors[0].message
    assert "外单位某人" not in message and "渝中区" not in message and "解放碑" not in message
    assert snapshot() == before


def test_a_system_admin_imports_anywhere(org):
    row = ["E030", "孙七", "YZ", "", "", "", "", "", ""]

    result = run(org.root, csv_bytes([ROW_ZHANG, row]))

    assert result.ok
    assert User.objects.get(employee_no="E030").unit == org.other


def test_a_unit_admin_cannot_change_a_system_admin_or_deactivate_themselves(org):
    org.root.unit = org.district
    org.root.save()
    rows = [
        ["ROOT", "系统管理员", "JB", "", "", "", "", "", "否"],
        ["ADMIN1", "管理员", "JB", "", "", "", "", "", "否"],
    ]
    before = snapshot()

    result = run(org.admin, csv_bytes(rows))

    assert codes(result) == ["employee_no_admin", "self_deactivate"]
    assert snapshot() == before


@pytest.mark.parametrize("role", [None, Role.MANAGER, Role.CLASS_TEACHER])
def test_people_without_a_unit_admin_grant_may_not_import(org, role):
    person = UserFactory(unit=org.district)
    if role:
        RoleGrantFactory(user=person, unit=org.district, role=role)

    with pytest.raises(PermissionDenied):
        run(person, csv_bytes([ROW_ZHANG]))
    assert not User.objects.filter(employee_no="E001").exists()


# --- Bad input: each refused with a located message, nothing written --------------------------


def _assert_refused(org, data, filename, code, *, row=None, column=None):
    before = snapshot()
    result = run(org.admin, data, filename)
    assert not result.ok
    assert code in codes(result), [str(e) for e in result.errors]
    error = next(e for e in result.errors if e.code == code)
    assert error.message
    if row is not None:
        assert error.row == row
    if column is not None:
        assert error.column == column
    assert snapshot() == before
    assert not result.applied
    return error


def _zip(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in names.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"just some text", "roster.txt"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "roster.xls"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "renamed.xlsx"),
        ("工号,姓名,单位\nE1,甲,JB\n".encode(), "renamed-csv.xlsx"),
        (_zip({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<Types/>"}), "word.xlsx"),
        (b"PK\x03\x04 not really a zip", "broken.xlsx"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 50, "picture.csv"),
    ],
    ids=["txt", "xls", "xls-renamed", "csv-renamed", "docx-renamed", "broken-zip", "png-renamed"],
)
def test_wrong_types_and_renamed_files_are_refused(org, data, filename):
    _assert_refused(org, data, filename, "wrong_type")


def test_an_xlsx_renamed_to_csv_is_refused(org):
    _assert_refused(org, xlsx_bytes([ROW_ZHANG]), "roster.csv", "wrong_type")


def test_text_that_is_neither_utf8_nor_gbk_is_refused(org):
    data = "工号,姓名,单位\n".encode() + b"E1,\x81\x20\xff,JB\n"

    _assert_refused(org, data, "roster.csv", "encoding")


def test_formula_cells_are_refused(org):
    data = xlsx_bytes([["E001", "张三", "JB", "", "", "", "=1+1", "", ""]])

    _assert_refused(org, data, "roster.xlsx", "formula", row=2, column="G (手机)")


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_cells_starting_with_injection_characters_are_refused(org, prefix):
    row = ["E001", f"{prefix}cmd|' /C calc'!A0", "JB", "", "", "", "", "", ""]

    error = _assert_refused(org, csv_bytes([row]), "roster.csv", "formula", row=2, column="B (姓名)")
    assert "formula" in error.message


def test_an_id_card_number_stored_as_an_excel_number_is_refused(org):
    data = xlsx_bytes([[110101199001011234, "张三", "JB", "", "", "", "", "", ""]])

    error = _assert_refused(org, data, "roster.xlsx", "precision_lost", row=2, column="A (工号)")
    assert "Text" in error.message
    assert error.sheet == "花名册"


def test_a_number_excel_shortened_to_scientific_notation_is_refused(org):
    row = ["1.10101E+17", "张三", "JB", "", "", "", "", "", ""]

    _assert_refused(org, csv_bytes([row]), "roster.csv", "precision_lost", row=2)


def test_duplicate_employee_numbers_in_the_file_are_refused(org):
    error = _assert_refused(
        org, csv_bytes([ROW_ZHANG, ROW_LI, ROW_ZHANG]), "roster.csv", "duplicate", row=4
    )
    assert "row 2" in error.message


def test_an_unknown_unit_is_refused(org):
    row = ["E001", "张三", "渝北市/不存在区", "", "", "", "", "", ""]

    error = _assert_refused(org, csv_bytes([row]), "roster.csv", "unknown_unit", row=2)
    assert "渝北市/不存在区" in error.message


def test_impossible_dates_are_refused(org):
    row = ["E001", "张三", "JB", "", "", "2024-02-30", "", "", ""]

    _assert_refused(org, csv_bytes([row]), "roster.csv", "date_impossible", column="F (出生日期)")


def test_an_excel_serial_number_in_a_date_column_is_refused(org):
    data = xlsx_bytes([["E001", "张三", "JB", "", "", 31127, "", "", ""]])

    _assert_refused(org, data, "roster.xlsx", "date_serial", row=2, column="F (出生日期)")


def test_a_serial_number_typed_as_text_is_refused(org):
    row = ["E001", "张三", "JB", "", "", "31127", "", "", ""]

    _assert_refused(org, csv_bytes([row]), "roster.csv", "date_serial")


@pytest.mark.parametrize("text", ["21/03/1985", "March 1985", "1985-3"])
def test_day_first_or_partial_dates_are_refused(text):
    parsed = parse(csv_bytes([["E1", "甲", "JB", "", "", text, "", "", ""]]))

    assert [e.code for e in parsed.errors] == ["date_format"]


def test_a_birth_date_in_the_future_is_refused():
    parsed = parse(csv_bytes([["E1", "甲", "JB", "", "", "2030-01-01", "", "", ""]]))

    assert [e.code for e in parsed.errors] == ["date_range"]


def test_missing_required_headers_are_refused(org):
    header = ["工号", "单位", "手机"]

    error = _assert_refused(
        org, csv_bytes([["E1", "JB", "1"]], header=header), "roster.csv", "missing_header", row=1
    )
    assert "姓名" in error.message


def test_a_file_without_any_known_header_is_refused(org):
    data = csv_bytes([["1", "2"]], header=["foo", "bar"])

    _assert_refused(org, data, "roster.csv", "missing_header")


def test_merged_header_cells_are_refused(org):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["工号", "姓名", None, "单位"])
    sheet.append(["E001", "张三", "", "JB"])
    sheet.merge_cells("B1:C1")
    buffer = io.BytesIO()
    book.save(buffer)

    error = _assert_refused(org, buffer.getvalue(), "roster.xlsx", "merged_header", row=1)
    assert "B1:C1" in error.message


def test_merged_data_cells_are_refused(org):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(ROW_ZHANG)
    sheet.append(["E003", "王", None, "", "", "", "", "", ""])
    sheet.merge_cells("C2:C3")
    buffer = io.BytesIO()
    book.save(buffer)

    _assert_refused(org, buffer.getvalue(), "roster.xlsx", "merged_cells", row=2)


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"", "roster.csv"),
        (b"", "roster.xlsx"),
        (b"\xef\xbb\xbf\r\n\r\n", "roster.csv"),
        (",".join(HEADER).encode(), "roster.csv"),
    ],
    ids=["zero-bytes-csv", "zero-bytes-xlsx", "bom-only", "header-only"],
)
def test_empty_files_are_refused(org, data, filename):
    _assert_refused(org, data, filename, "empty")


def test_an_xlsx_with_an_empty_sheet_is_refused(org):
    book = openpyxl.Workbook()
    buffer = io.BytesIO()
    book.save(buffer)

    _assert_refused(org, buffer.getvalue(), "roster.xlsx", "empty")


def test_more_rows_than_the_limit_are_refused(org, settings):
    assert settings.ROSTER_MAX_ROWS == 20_000
    lines = [",".join(HEADER[:3])] + [f"N{i:06d},某{i},JB" for i in range(20_001)]
    data = ("\n".join(lines) + "\n").encode()

    error = _assert_refused(org, data, "roster.csv", "too_many_rows")
    assert "20,000" in error.message


def test_files_over_the_size_limit_are_refused(org, settings):
    settings.ROSTER_MAX_UPLOAD_BYTES = 100

    _assert_refused(org, csv_bytes([ROW_ZHANG, ROW_LI]), "roster.csv", "too_large")


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        (3, "厅级", "unknown_cadre_level"),
        (4, "未知", "gender"),
        (7, "not-an-email", "email"),
        (8, "也许", "active"),
        (0, "E 001", "employee_no"),
        (6, "138-ab", "phone"),
        (1, "", "required"),
    ],
)
def test_bad_cells_are_refused_with_their_column(org, column, value, code):
    row = [*ROW_ZHANG]
    row[column] = value
    expected_column = f"{chr(ord('A') + column)} ({HEADER[column]})"

    _assert_refused(org, csv_bytes([row]), "roster.csv", code, row=2, column=expected_column)


def test_every_error_in_the_file_is_listed_at_once(org):
    rows = [
        ["E001", "张三", "JB", "", "X", "", "", "", ""],
        ["E002", "李四", "JB", "", "", "2024-02-30", "", "", ""],
        ["E003", "王五", "NOPE", "", "", "", "", "", ""],
    ]

    result = run(org.admin, csv_bytes(rows))

    # Cell errors stop the plan, so the unknown unit is reported on the next attempt.
    assert [(e.row, e.code) for e in result.errors] == [(2, "gender"), (3, "date_impossible")]
    assert str(result.errors[0]) == (
        "roster.csv!2:E (性别) Gender “X” is not understood; write 男 or 女 (or M / F)."
    )


def test_the_error_list_stops_at_a_useful_length(org):
    rows = [[f"E{i:04d}", "某", "JB", "", "X", "", "", "", ""] for i in range(roster.MAX_ERRORS + 200)]

    result = run(org.admin, csv_bytes(rows))

    assert len(result.errors) == roster.MAX_ERRORS + 1
    assert result.errors[-1].code == "too_many_errors"
    assert not User.objects.filter(employee_no="E0001").exists()


def test_a_concurrent_insert_rolls_the_whole_import_back(org, monkeypatch):
    """If someone creates an employee number between the plan and the write, nothing stays."""
    real_load = roster.load_roster_context

    def stale_context(**kwargs):
        context = real_load(**kwargs)
        UserFactory(employee_no="E002", unit=org.district)
        return context

    monkeypatch.setattr(roster, "load_roster_context", stale_context)

    result = run(org.admin, csv_bytes([ROW_ZHANG, ROW_LI]))

    assert codes(result) == ["conflict"]
    assert not User.objects.filter(employee_no="E001").exists()


# --- Volume ----------------------------------------------------------------------------------


def test_a_twenty_thousand_row_file_imports_in_one_go(org):
    lines = [",".join(HEADER)] + [
        f"N{i:06d},员工{i},{'GYQ' if i % 2 else 'JB'},科级,{'男' if i % 3 else '女'},"
        f"1980-01-{i % 28 + 1:02d},1380000{i:04d},,是"
        for i in range(20_000)
    ]
    data = ("\n".join(lines) + "\n").encode("utf-8-sig")

    result = run(org.admin, data)

    assert result.ok, result.errors[:3]
    assert result.created == 20_000
    assert User.objects.filter(employee_no__startswith="N").count() == 20_000
    assert User.objects.get(employee_no="N000002").unit == org.district
    assert User.objects.get(employee_no="N000003").unit == org.street


# --- Command ---------------------------------------------------------------------------------


def test_command_dry_run_prints_the_changes_and_writes_nothing(org, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes([ROW_ZHANG]))
    out = io.StringIO()

    call_command("import_roster", str(path), "--dry-run", stdout=out)

    assert "+ row 2 E001 张三" in out.getvalue()
    assert "1 created, 0 updated, 0 unchanged" in out.getvalue()
    assert not User.objects.filter(employee_no="E001").exists()


def test_command_imports_for_the_whole_organisation_by_default(org, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes([["E030", "孙七", "YZ", "", "", "", "", "", ""]]))
    out = io.StringIO()

    call_command("import_roster", str(path), stdout=out)

    assert User.objects.get(employee_no="E030").unit == org.other
    assert "unusable password" in out.getvalue()


def test_command_prints_located_errors_and_fails(org, tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes([["E001", "张三", "JB", "", "", "2024-02-30", "", "", ""]]))
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_roster", str(path), stderr=err)

    assert err.getvalue().startswith("花名册!2:F (出生日期) ")
    assert not User.objects.filter(employee_no="E001").exists()


def test_command_as_a_unit_admin_is_limited_to_their_units(org, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes([["E030", "孙七", "YZ", "", "", "", "", "", ""]]))
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_roster", str(path), "--as", "ADMIN1", stderr=err)

    assert "roster.csv!2:C (单位)" in err.getvalue()
    assert not User.objects.filter(employee_no="E030").exists()


def test_command_refuses_an_unknown_actor_or_a_missing_file(org, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes([ROW_ZHANG]))

    with pytest.raises(CommandError):
        call_command("import_roster", str(path), "--as", "NOBODY")
    with pytest.raises(CommandError):
        call_command("import_roster", str(tmp_path / "missing.csv"))
    assert not User.objects.filter(employee_no="E001").exists()
