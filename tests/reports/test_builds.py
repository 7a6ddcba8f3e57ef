"""Building each report: the files say what the ledger, the classes and the exams say."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
import zlib
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from credits.models import RankingPolicy
from credits.periods import period_from_key
from reports import rows, writers
from reports.models import ReportRun
from tests.factories import CadreLevelFactory, RequirementFactory, UserFactory
from tests.lectures.factories import AttendanceFactory, SessionFactory

from .conftest import fresh, local

pytestmark = pytest.mark.django_db


def open_book(run: ReportRun) -> openpyxl.Workbook:
    with default_storage.open(run.file.name, "rb") as f:
        return openpyxl.load_workbook(io.BytesIO(f.read()))


def sheet_rows(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def summary_values(book) -> dict[str, object]:
    """`{label: value}` of the figures table on the summary sheet."""
    ws = book.worksheets[0]
    out = {}
    for row in ws.iter_rows(min_row=5, max_col=2, values_only=True):
        if row[0] is None:
            break
        out[row[0]] = row[1]
    return out


def pdf_streams(data: bytes) -> bytes:
    """Every stream of a PDF, inflated (fonts and object streams are compressed)."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            out.append(match.group(1))
    return b"\n".join(out)


@pytest.fixture
def quarter_data(cast, award, quarter):
    """Credits in the quarter for three people of district A's subtree; one outside."""
    level = CadreLevelFactory(code="KJ", name="科级")
    RequirementFactory(cadre_level=level, year=quarter.year, points=Decimal("40"))
    for person in (cast.learner, cast.inside):
        person.cadre_level = level
        person.save()
    mid = local(quarter.year, quarter.first_month + 1, 10, 10)
    award(cast.learner, "30", kind="course", when=mid, label="=HYPERLINK(\"http://x\")", ref="courses.course:1")
    award(cast.learner, "4", kind="attendance", when=mid)
    award(cast.inside, "2", kind="course", when=mid, label="课程：《公文写作》", ref="courses.course:2")
    award(cast.outside, "50", kind="course", when=mid)
    return level


def test_quarterly_xlsx_has_every_sheet_native_charts_and_the_ledger_numbers(cast, quarter, quarter_data, request_report):
    run = request_report(cast.manager, "quarterly", unit=cast.tree.district_a.pk, year=quarter.year,
                         quarter=quarter.index, format="xlsx")

    assert run.status == ReportRun.Status.SUCCEEDED, run.error
    assert run.progress == 100 and run.file_size > 0 and run.expires_at > run.finished_at
    book = open_book(run)
    assert len(book.sheetnames) == 8
    assert len(book.worksheets[0]._charts) >= 3  # native Excel charts on the summary sheet
    figures = summary_values(book)
    # District A's subtree: P-DA, the learner (34), inside (2) and the three role holders.
    assert figures[_("People")] == 6
    assert figures[_("People with credits in the period")] == 2
    assert figures[_("Credits earned in the period")] == 36
    assert figures[_("Average credits per person")] == 6
    units = sheet_rows(book.worksheets[1])
    assert units[1][1].endswith("东一街道") and units[1][5] == 34  # best average first
    ranking = sheet_rows(book.worksheets[2])
    assert ranking[1][:2] == [1, cast.learner.name] and ranking[1][4] == 34
    sources = {r[0]: r[1] for r in sheet_rows(book.worksheets[3])[1:]}
    assert sources[rows.source_label("course")] == 32 and sources[rows.source_label("attendance")] == 4
    courses = sheet_rows(book.worksheets[5])
    # Formula-like text from the ledger is neutralised, never a live formula.
    assert courses[1][0] == "'=HYPERLINK(\"http://x\")" and courses[1][1:] == [1, 1, 30]
    assert all(cast.outside.name not in str(r) for r in ranking)


def test_quarterly_people_behind_target_are_listed_with_their_shortfall(cast, quarter, quarter_data, request_report):
    run = request_report(cast.unit_admin, "quarterly", unit=cast.tree.district_a.pk, year=quarter.year,
                         quarter=quarter.index)
    behind = sheet_rows(open_book(run).worksheets[7])
    names = [r[0] for r in behind[1:]]
    # Only people of the level have a requirement (40 a year, pro rata at the quarter's end).
    target = float(rows.q2(Decimal(40) * Decimal(str(
        period_from_key(str(quarter.year)).fraction_elapsed(quarter.as_of())))))
    assert names == [cast.inside.name] + ([cast.learner.name] if target > 34 else [])
    inside = behind[1]
    assert inside[3] == 2 and inside[4] == pytest.approx(target) and inside[5] == pytest.approx(target - 2)


def test_individual_ranking_follows_the_organisations_visibility_setting(cast, quarter, quarter_data, request_report):
    RankingPolicy.objects.create(root=cast.tree.city, visibility="off")
    run = request_report(cast.manager, "quarterly", unit=cast.tree.district_a.pk, year=quarter.year,
                         quarter=quarter.index)
    ranking = sheet_rows(open_book(run).worksheets[2])
    assert ranking[1:] == [[_("Rankings of individuals are switched off in this organisation."), None, None, None, None]]

    RankingPolicy.objects.filter(root=cast.tree.city).update(visibility="top_n", top_n=1, mask_names=True)
    run = request_report(cast.manager, "quarterly", unit=cast.tree.district_a.pk, year=quarter.year,
                         quarter=quarter.index)
    ranking = sheet_rows(open_book(run).worksheets[2])
    assert ranking[1][1] == cast.learner.name[0] + "*" * (len(cast.learner.name) - 1)
    assert ranking[1][2] in (None, "")  # masked: no employee number either
    assert len([r for r in ranking[1:] if isinstance(r[0], int)]) == 1


def test_classes_sheet_counts_attendance_of_classes_hosted_in_the_subtree(cast, quarter, request_report):
    start = local(quarter.year, quarter.first_month, 15, 16, 30)
    held = SessionFactory(host_unit=cast.tree.township_a1, start=start, end=start + dt.timedelta(hours=1),
                          title="业务专家谈业务")
    AttendanceFactory(session=held, person=cast.learner)
    AttendanceFactory(session=held, person=cast.inside, status="absent")
    SessionFactory(host_unit=cast.tree.township_b1, start=start, end=start + dt.timedelta(hours=1), title="西区的课")
    run = request_report(cast.manager, "quarterly", unit=cast.tree.district_a.pk, year=quarter.year,
                         quarter=quarter.index)
    classes = sheet_rows(open_book(run).worksheets[4])
    assert [r[1] for r in classes[1:]] == ["业务专家谈业务"]
    assert classes[1][6:8] == [1, 1]  # attended, absent
    months = {m.month.month: m.held for m in rows.classes_by_month(fresh(cast.manager), cast.tree.district_a, quarter)}
    assert months[quarter.first_month] == 1


def test_quarterly_pdf_embeds_a_chinese_font(cast, quarter, quarter_data, request_report):
    run = request_report(cast.manager, "quarterly", unit=cast.tree.district_a.pk, year=quarter.year,
                         quarter=quarter.index, format="pdf")
    assert run.status == ReportRun.Status.SUCCEEDED, run.error
    with default_storage.open(run.file.name, "rb") as f:
        data = f.read()
    assert data.startswith(b"%PDF-")
    inflated = pdf_streams(data)
    assert b"/FontFile" in inflated and b"CJK" in inflated


def test_pdf_without_a_chinese_font_fails_with_a_readable_error(cast, quarter, quarter_data, request_report,
                                                                monkeypatch):
    monkeypatch.setattr(writers, "cjk_font_path", lambda: None)
    run = request_report(cast.manager, "quarterly", unit=cast.tree.district_a.pk, year=quarter.year,
                         quarter=quarter.index, format="pdf")
    assert run.status == ReportRun.Status.FAILED
    assert "fonts-noto-cjk" in run.error and not run.file


def test_briefing_lists_units_and_people_behind_pro_rata_target(cast, quarter_data, award, request_report):
    year = rows.last_ended_quarter().year
    run = request_report(cast.manager, "briefing", unit=cast.tree.district_a.pk, year=year, half=1, format="xlsx")
    assert run.status == ReportRun.Status.SUCCEEDED, run.error
    book = open_book(run)
    assert len(book.sheetnames) == 3
    units = sheet_rows(book.worksheets[1])
    people = [r[0] for r in sheet_rows(book.worksheets[2])[1:]]
    assert cast.inside.name in people
    assert any(str(r[0]).endswith("东二街道") for r in units[1:])
    run = request_report(cast.manager, "briefing", unit=cast.tree.district_a.pk, year=year, half=1, format="pdf")
    assert run.status == ReportRun.Status.SUCCEEDED, run.error


def test_attendance_export_csv_has_bom_local_times_and_neutralised_cells(cast, request_report):
    start = local(2026, 3, 2, 16, 30)
    session = SessionFactory(host_unit=cast.tree.district_a, start=start, end=start + dt.timedelta(hours=1),
                             title="=cmd|' /C calc'!A0")
    AttendanceFactory(session=session, person=cast.learner)
    AttendanceFactory(session=session, person=cast.outside)
    run = request_report(cast.manager, "attendance", unit=cast.tree.district_a.pk, date_from="2026-03-01",
                         date_to="2026-03-31", format="csv")
    assert run.status == ReportRun.Status.SUCCEEDED, run.error
    with default_storage.open(run.file.name, "rb") as f:
        raw = f.read()
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(table) == 2 and run.row_count == 1  # the person outside district A is not there
    assert table[1][6].startswith("'=")
    assert table[1][7] == "2026-03-02 16:30:00"  # Beijing time, not UTC


def test_learning_record_certificate_and_full_record(cast, award, request_report):
    award(cast.learner, "3", kind="course", when=local(2026, 5, 1, 9), label="课程：《保密法》")
    run = request_report(cast.learner, "learning_record", year=2026)
    assert run.status == ReportRun.Status.SUCCEEDED, run.error
    assert run.fmt == "pdf" and run.subject_id == cast.learner.pk
    with default_storage.open(run.file.name, "rb") as f:
        assert b"/FontFile" in pdf_streams(f.read())
    run = request_report(cast.learner, "learning_record", year=2026, format="xlsx")
    book = open_book(run)
    credits_rows = sheet_rows(book.worksheets[1])
    assert any("保密法" in str(r[2]) for r in credits_rows[1:])


def test_bulk_learning_records_zip_has_one_certificate_per_person(cast, request_report):
    run = request_report(cast.unit_admin, "learning_records", unit=cast.tree.township_a1.pk, year=2026)
    assert run.status == ReportRun.Status.SUCCEEDED, run.error
    with default_storage.open(run.file.name, "rb") as f:
        names = zipfile.ZipFile(io.BytesIO(f.read())).namelist()
    assert names == [f"{cast.learner.employee_no}_{cast.learner.name}_2026.pdf"]


def test_person_figures_merge_ledger_and_people_and_apply_annual_caps(cast, award, quarter):
    from tests.factories import SourceRuleFactory

    SourceRuleFactory(source_kind="course", year=quarter.year, cap_points=Decimal("10"))
    early = local(quarter.year, 1, 5, 9)
    mid = local(quarter.year, quarter.first_month, 5, 9)
    award(cast.learner, "8", when=early)
    award(cast.learner, "8", when=mid)
    award(cast.inside, "1", kind="exam", when=mid)
    extra = UserFactory(unit=cast.tree.township_a2)
    figures = {pf.person_id: pf for pf in rows.person_figures(fresh(cast.manager), cast.tree.district_a, quarter)}
    assert figures[cast.learner.pk].period_total == Decimal("8")
    assert figures[cast.learner.pk].year_total == Decimal("10")  # 16 earned, capped at 10
    assert figures[cast.inside.pk].by_source == {"exam": Decimal("1")}
    assert figures[extra.pk].period_total == 0 and cast.outside.pk not in figures


def test_satisfaction_and_exam_results_come_from_the_evaluations_app(cast, quarter, request_report,
                                                                     django_capture_on_commit_callbacks):
    from evaluations import services as evaluation_services
    from tests.evaluations.factories import (
        answer_all,
        closed_class,
        make_exam,
        right_answers,
        wrong_answers,
    )

    start = local(quarter.year, quarter.first_month, 12, 16, 30)
    with django_capture_on_commit_callbacks(execute=True):
        session = closed_class(host=cast.tree.township_a1, attendees=6, start=start, title="保密工作")
        answer_all(session, [5, 5, 4, 4, 2, 1])  # 4 of 6 satisfied
    opens = local(quarter.year, quarter.first_month, 3, 9)
    exam = make_exam(cast.tree.district_a, opens_at=opens, closes_at=opens + dt.timedelta(days=5),
                     title="全员法制网上月考")
    during = opens + dt.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        for person, answers in ((cast.learner, right_answers), (cast.inside, wrong_answers)):
            attempt = evaluation_services.attempt_start(exam=exam, person=person, now=during)
            evaluation_services.attempt_submit(attempt=attempt, person=person, answers=answers(attempt), now=during)

    run = request_report(cast.manager, "quarterly", unit=cast.tree.district_a.pk, year=quarter.year,
                         quarter=quarter.index)
    book = open_book(run)
    assert summary_values(book)[_("Satisfaction (satisfied or very satisfied)")] == pytest.approx(66.7)
    classes = sheet_rows(book.worksheets[4])
    assert classes[1][1] == "保密工作" and classes[1][8] == pytest.approx(66.7) and classes[1][9] == 6
    exams = sheet_rows(book.worksheets[6])
    assert exams[1][0] == "全员法制网上月考" and exams[1][2:5] == [2, 1, 50]
