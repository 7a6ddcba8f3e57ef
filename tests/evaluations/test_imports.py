"""Question import from .xlsx: every row checked, errors by sheet / row / column, all or nothing."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluations import services
from evaluations.models import Choice, Question, QuestionTag
from org.models import Role
from tests.factories import RoleGrantFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = ["题型", "题目", "选项A", "选项B", "选项C", "选项D", "答案", "解析", "标签"]


def xlsx(rows: list[list], *, title: str = "题库", name: str = "questions.xlsx") -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@pytest.fixture
def admin(tree):
    user = UserFactory(unit=tree.district_a)
    RoleGrantFactory(user=user, unit=tree.district_a, role=Role.UNIT_ADMIN)
    return user


GOOD = [
    HEADER,
    ["单选", "宪法规定的国家根本任务是什么？", "沿着中国特色社会主义道路，集中力量进行社会主义现代化建设", "发展经济", "保障民生", "", "A",
     "见宪法序言。", "宪法"],
    ["多选", "行政许可的设定应当遵循哪些原则？", "公开", "公平", "公正", "便民", "ABCD", "", "行政许可法、法治"],
    ["判断", "档案馆可以向社会开放全部档案。", "", "", "", "", "错误", "涉密档案不得开放。", "档案法"],
]


def test_a_valid_sheet_imports_every_question_with_options_answers_and_tags(tree, admin):
    result = services.questions_import(actor=admin, unit=tree.district_a, file=xlsx(GOOD), filename="q.xlsx",
                                       dry_run=False)
    assert result.ok and result.applied and result.created == 3
    single = Question.objects.get(kind="single")
    assert [c.is_correct for c in single.choices.all()] == [True, False, False]
    multiple = Question.objects.get(kind="multiple")
    assert multiple.choices.filter(is_correct=True).count() == 4
    assert sorted(t.name for t in multiple.tags.all()) == ["法治", "行政许可法"]
    tf = Question.objects.get(kind="true_false")
    assert [c.is_correct for c in tf.choices.all()] == [False, True]
    assert tf.explanation == "涉密档案不得开放。"
    assert all(q.unit_id == tree.district_a.pk for q in Question.objects.all())


def test_a_dry_run_checks_but_writes_nothing(tree, admin):
    result = services.questions_import(actor=admin, unit=tree.district_a, file=xlsx(GOOD), filename="q.xlsx",
                                       dry_run=True)
    assert result.ok and result.created == 3 and not result.applied
    assert not Question.objects.exists() and not QuestionTag.objects.exists()


def test_every_bad_row_is_reported_by_sheet_row_and_column_and_nothing_is_written(tree, admin):
    rows = [
        ["全员法制网上月考题库"],                              # a title above the header
        HEADER,
        ["单选", "正确的一题", "甲", "乙", "", "", "A", "", ""],
        ["问答", "未知题型", "甲", "乙", "", "", "A", "", ""],        # row 4: type
        ["单选", "", "甲", "乙", "", "", "A", "", ""],               # row 5: empty question
        ["单选", "两个答案", "甲", "乙", "丙", "", "AB", "", ""],     # row 6: single with two answers
        ["多选", "答案指向空选项", "甲", "乙", "", "", "AD", "", ""],  # row 7: D is empty
        ["判断", "判断题答案", "", "", "", "", "也许", "", ""],        # row 8: not true/false
        ["单选", "只有一个选项", "甲", "", "", "", "A", "", ""],      # row 9: one option
        ["单选", "=HYPERLINK(\"x\")", "甲", "乙", "", "", "A", "", ""],  # row 10: a formula
        ["单选", "正确的一题", "甲", "乙", "", "", "B", "", ""],       # row 11: duplicate of row 3
        ["单选", "选项有空缺", "甲", "", "丙", "", "A", "", ""],       # row 12: B empty before C
    ]
    result = services.questions_import(actor=admin, unit=tree.district_a, file=xlsx(rows), filename="q.xlsx",
                                       dry_run=False)
    assert not result.applied
    found = {(e.row, e.column) for e in result.errors}
    assert {(4, "题型"), (5, "题目"), (6, "答案"), (7, "答案"), (8, "答案"), (9, "选项A"), (10, "题目"),
            (11, "题目"), (12, "选项B")} <= found
    assert all(e.sheet == "题库" for e in result.errors)
    assert 3 not in {e.row for e in result.errors}
    assert "sheet “题库”, row 6, column “答案”" in str(next(e for e in result.errors if e.row == 6))
    assert not Question.objects.exists() and not Choice.objects.exists()


def test_questions_already_in_the_bank_are_errors_so_a_second_import_adds_nothing(tree, admin):
    services.questions_import(actor=admin, unit=tree.district_a, file=xlsx(GOOD), filename="q.xlsx", dry_run=False)
    result = services.questions_import(actor=admin, unit=tree.district_a, file=xlsx(GOOD), filename="q.xlsx",
                                       dry_run=False)
    assert not result.applied and {e.row for e in result.errors} == {2, 3, 4}
    assert Question.objects.count() == 3


def test_a_sheet_without_the_required_columns_names_them(tree, admin):
    result = services.questions_import(actor=admin, unit=tree.district_a,
                                       file=xlsx([["题目", "选项A"], ["x", "y"]]), filename="q.xlsx", dry_run=False)
    assert len(result.errors) == 1 and "题型" in result.errors[0].message and "答案" in result.errors[0].message
    assert not Question.objects.exists()


def test_a_file_that_is_not_a_workbook_is_refused(tree, admin):
    fake = SimpleUploadedFile("q.xlsx", b"MZ\x90\x00 not a zip")
    with pytest.raises(ValidationError) as error:
        services.questions_import(actor=admin, unit=tree.district_a, file=fake, filename="q.xlsx", dry_run=False)
    assert "file" in error.value.message_dict
    assert not Question.objects.exists()


def test_importing_into_a_bank_outside_ones_scope_is_forbidden(tree, admin):
    with pytest.raises(PermissionDenied):
        services.questions_import(actor=admin, unit=tree.district_b, file=xlsx(GOOD), filename="q.xlsx",
                                  dry_run=False)
    assert not Question.objects.exists()


def test_english_headers_and_answer_spellings_are_accepted(tree, admin):
    rows = [["Type", "Question", "Option A", "Option B", "Answer", "Tags"],
            ["single", "Q1", "x", "y", "b", "law"],
            ["true_false", "Q2", "", "", "T", ""]]
    result = services.questions_import(actor=admin, unit=tree.district_a, file=xlsx(rows), filename="q.xlsx",
                                       dry_run=False)
    assert result.applied, [str(e) for e in result.errors]
    assert Question.objects.get(text="Q1").choices.get(is_correct=True).text == "y"
    assert Question.objects.get(text="Q2").choices.first().is_correct is True
