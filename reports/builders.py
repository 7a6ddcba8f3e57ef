"""One builder per report kind and format: pipe `reports.rows` into `reports.writers`.

A builder gets the validated request, the requester (whose scope every read uses), a
path to write to and a progress callback; it returns the number of data rows written.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from credits import selectors as credit_selectors
from org.models import User
from reports import rows, writers
from reports.models import ReportKind, ReportRun

if TYPE_CHECKING:
    from reports.services import CleanRequest

Progress = Callable[[float, str], None]

PEOPLE_SHARE = 75  # % of the progress bar spent streaming the people


def build(*, run: ReportRun, req: CleanRequest, requester: User, path: str, progress: Progress) -> int:
    builder = BUILDERS[(req.kind, req.fmt)]
    with rows.whole_result_plans():
        return builder(req=req, requester=requester, path=path, progress=progress)


def _people_progress(progress: Progress) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        share = done / total if total else 1
        progress(5 + PEOPLE_SHARE * share, _("People: %(done)s of %(total)s") % {"done": done, "total": total})

    return report


def _unit_names(req: CleanRequest) -> dict[int, str]:
    return {line.unit_id: line.full_name for line in rows.subtree_units(req.unit)}


# --- Quarterly unit report ----------------------------------------------------------------------


def quarterly_xlsx(*, req: CleanRequest, requester: User, path: str, progress: Progress) -> int:
    book = writers.ReportWorkbook(path)
    summary = book.sheet(_("Summary"), [], widths=[36, 26, 10, 4, 14])
    units = book.sheet(_("Unit ranking"), rows.unit_header(), widths=[8, 36, 10, 12, 12, 14, 14, 10, 10, 12])
    people = book.sheet(_("Individual ranking"), rows.ranking_header(), widths=[8, 14, 16, 36, 16])
    sources = book.sheet(_("Credits by source"), rows.source_header(), widths=[20, 14, 10, 14])
    classes = book.sheet(_("Classes"), rows.class_header(), widths=[18, 36, 18, 30, 20, 10, 10, 10, 12, 10])
    courses = book.sheet(_("Course usage"), rows.course_header(), widths=[48, 12, 10, 12])
    exams = book.sheet(_("Exams"), rows.exam_header(), widths=[36, 18, 14, 10, 12, 14])
    behind = book.sheet(_("Behind target"), rows.behind_header(), widths=[14, 16, 36, 14, 14, 12, 14])

    progress(2, _("Reading the organisation"))
    names = _unit_names(req)

    def sink(pf: rows.PersonFigures) -> None:
        if pf.is_behind:
            behind.append(rows.behind_row(pf, names))

    figures = rows.period_figures(requester, req.unit, req.window, sink=sink, progress=_people_progress(progress))
    count = figures.people

    progress(80, _("Writing the summary and charts"))
    _summary_sheet(book, summary, req, rows.summary_items(figures), figures)
    ranked = units.extend(rows.unit_rows(figures))
    if ranked:
        top = min(ranked, 15)
        book.chart(
            summary, "G3", kind="bar", title=_("Average credits per person (top units)"),
            series=[{"name": _("Average per person"), "categories": (units.title, 1, 1, top, 1),
                     "values": (units.title, 1, 6, top, 6), "labels": True}],
            size=(560, 40 + 22 * top),
        )
    visibility = rows.ranking_visibility(req.unit)
    people.extend(rows.ranking_rows(figures, visibility))
    if visibility.note():
        people.note(visibility.note())
    sources.extend(rows.source_rows(figures))
    progress(88, _("Classes, courses and exams"))
    classes.extend(rows.class_rows(requester, req.unit, req.window))
    courses.extend(rows.course_rows(requester, req.unit, req.window))
    exams.extend(rows.exam_rows(requester, req.unit, req.window))
    progress(96, _("Saving the workbook"))
    book.close()
    return count


def _summary_sheet(book: writers.ReportWorkbook, sheet: writers.Sheet, req: CleanRequest,
                   items: list[rows.SummaryItem], figures: rows.PeriodFigures) -> None:
    """Headline figures, then the small tables the native charts are drawn from."""
    sheet.append([req.title], fmt=book.title_format)
    sheet.append([_("Generated at"), timezone.localtime(timezone.now())])
    sheet.append([])
    sheet.append([_("Figure"), _("Value"), ""], fmt=book.header_format)
    for item in items:
        sheet.append([item.label, item.value, item.unit])
    sheet.append([])

    sources_first = sheet.append([_("Source"), _("Credits")], fmt=book.header_format) + 1
    for kind, points in figures.by_source.items():
        sheet.append([rows.source_label(kind), points])
    sources_last = sheet.row - 1
    sheet.append([])

    months_first = sheet.append([_("Month"), _("Classes held"), _("Target")], fmt=book.header_format) + 1
    for m in figures.months:
        sheet.append([m.month.strftime("%Y-%m"), m.held, m.target])
    months_last = sheet.row - 1
    sheet.append([])

    track_first = sheet.append([_("Annual requirement"), _("People")], fmt=book.header_format) + 1
    sheet.append([_("On track"), figures.on_track])
    sheet.append([_("Behind"), figures.behind])

    title = sheet.title
    if sources_last >= sources_first:
        book.chart(sheet, "G24", kind="pie", title=_("Credits by source"),
                   series=[{"name": _("Credits"), "categories": (title, sources_first, 0, sources_last, 0),
                            "values": (title, sources_first, 1, sources_last, 1), "pie": True}])
    book.chart(
        sheet, "O3", kind="column", title=_("Micro-classes held and the monthly target"),
        series=[{"name": _("Classes held"), "categories": (title, months_first, 0, months_last, 0),
                 "values": (title, months_first, 1, months_last, 1), "labels": True}],
        line_series=[{"name": _("Target"), "categories": (title, months_first, 0, months_last, 0),
                      "values": (title, months_first, 2, months_last, 2)}],
    )
    if figures.with_requirement:
        book.chart(sheet, "O24", kind="doughnut", title=_("On track for the annual requirement"),
                   series=[{"name": _("People"), "categories": (title, track_first, 0, track_first + 1, 0),
                            "values": (title, track_first, 1, track_first + 1, 1), "pie": True}])


def quarterly_pdf(*, req: CleanRequest, requester: User, path: str, progress: Progress) -> int:
    limit = settings.REPORTS_PDF_MAX_ROWS
    behind = rows.BehindCollector(limit)
    progress(2, _("Reading the organisation"))
    names = _unit_names(req)
    figures = rows.period_figures(requester, req.unit, req.window, sink=behind.add,
                                  progress=_people_progress(progress))
    progress(80, _("Laying out the pages"))
    visibility = rows.ranking_visibility(req.unit)
    unit_rows, units_more = writers.rows_for_pdf(rows.unit_rows(figures), limit)
    ranking, ranking_more = writers.rows_for_pdf(rows.ranking_rows(figures, visibility, limit=limit + 1), limit)
    class_rows, classes_more = writers.rows_for_pdf(rows.class_rows(requester, req.unit, req.window, limit=limit + 1), limit)
    course_rows, courses_more = writers.rows_for_pdf(rows.course_rows(requester, req.unit, req.window, limit=21), 20)
    exam_rows, exams_more = writers.rows_for_pdf(rows.exam_rows(requester, req.unit, req.window), limit)
    total_points = sum(figures.by_source.values(), rows.ZERO)
    max_held = max([m.held for m in figures.months] + [m.target or 0 for m in figures.months] + [1])
    context = {
        "title": req.title,
        "generated_at": timezone.localtime(timezone.now()),
        "items": rows.summary_items(figures),
        "sources": [
            {"label": rows.source_label(k), "points": writers.display(v), "share": rows.percent(v, total_points),
             "width": writers.bar_width(v, max(figures.by_source.values()))}
            for k, v in figures.by_source.items()
        ],
        "months": [
            {"month": m.month.strftime("%Y-%m"), "held": m.held, "target": m.target,
             "width": writers.bar_width(m.held, max_held), "target_width": writers.bar_width(m.target, max_held)}
            for m in figures.months
        ],
        "unit_header": rows.unit_header(), "unit_rows": unit_rows, "units_more": units_more,
        "ranking_header": rows.ranking_header(), "ranking_rows": ranking, "ranking_more": ranking_more,
        "ranking_note": visibility.note(),
        "class_header": rows.class_header(), "class_rows": class_rows, "classes_more": classes_more,
        "course_header": rows.course_header(), "course_rows": course_rows, "courses_more": courses_more,
        "exam_header": rows.exam_header(), "exam_rows": exam_rows, "exams_more": exams_more,
        "behind_header": rows.behind_header(),
        "behind_rows": [[writers.display(v) for v in rows.behind_row(pf, names)] for pf in behind.rows()],
        "behind_count": behind.count, "behind_more": behind.count > limit, "limit": limit,
        "unit_label": credit_selectors.unit_label(),
    }
    progress(90, _("Rendering the PDF"))
    writers.pdf_to(path, "reports/pdf/quarterly.html", context)
    return figures.people


# --- Semi-annual briefing (情况通报) -------------------------------------------------------------


def briefing_xlsx(*, req: CleanRequest, requester: User, path: str, progress: Progress) -> int:
    book = writers.ReportWorkbook(path)
    summary = book.sheet(_("Summary"), [], widths=[36, 26, 10, 4])
    units = book.sheet(_("Units behind target"), rows.briefing_unit_header(), widths=[36, 10, 12, 10, 10, 12, 14])
    behind = book.sheet(_("People behind target"), rows.behind_header(), widths=[14, 16, 36, 14, 14, 12, 14])
    progress(2, _("Reading the organisation"))
    names = _unit_names(req)

    def sink(pf: rows.PersonFigures) -> None:
        if pf.is_behind:
            behind.append(rows.behind_row(pf, names))

    figures = rows.period_figures(requester, req.unit, req.window, sink=sink, progress=_people_progress(progress))
    progress(85, _("Writing the summary"))
    summary.append([req.title], fmt=book.title_format)
    summary.append([_("Generated at"), timezone.localtime(timezone.now())])
    summary.append([])
    summary.append([_("Figure"), _("Value"), ""], fmt=book.header_format)
    for item in rows.briefing_items(figures):
        summary.append([item.label, item.value, item.unit])
    written = units.extend(rows.briefing_unit_rows(figures))
    if written:
        top = min(written, 15)
        book.chart(
            summary, "F3", kind="bar", title=_("Share on track (%) — units furthest behind"),
            series=[{"name": _("Share on track (%)"), "categories": (units.title, 1, 0, top, 0),
                     "values": (units.title, 1, 5, top, 5), "labels": True}],
            size=(560, 40 + 22 * top),
        )
    progress(96, _("Saving the workbook"))
    book.close()
    return figures.behind


def briefing_pdf(*, req: CleanRequest, requester: User, path: str, progress: Progress) -> int:
    limit = settings.REPORTS_PDF_MAX_ROWS
    behind = rows.BehindCollector(limit)
    progress(2, _("Reading the organisation"))
    names = _unit_names(req)
    figures = rows.period_figures(requester, req.unit, req.window, sink=behind.add,
                                  progress=_people_progress(progress))
    unit_rows, units_more = writers.rows_for_pdf(rows.briefing_unit_rows(figures), limit)
    context = {
        "title": req.title,
        "generated_at": timezone.localtime(timezone.now()),
        "items": rows.briefing_items(figures),
        "unit_header": rows.briefing_unit_header(), "unit_rows": unit_rows, "units_more": units_more,
        "behind_header": rows.behind_header(),
        "behind_rows": [[writers.display(v) for v in rows.behind_row(pf, names)] for pf in behind.rows()],
        "behind_count": behind.count, "behind_more": behind.count > limit, "limit": limit,
        "unit_label": credit_selectors.unit_label(),
    }
    progress(90, _("Rendering the PDF"))
    writers.pdf_to(path, "reports/pdf/briefing.html", context)
    return figures.behind


# --- Attendance export -----------------------------------------------------------------------------


def _counted(iterable, total: int, progress: Progress):
    step = max(1000, total // 50) if total else 1000
    for i, row in enumerate(iterable, start=1):
        if i % step == 0:
            progress(5 + 90 * i / max(total, 1), _("Rows: %(done)s of %(total)s") % {"done": i, "total": total})
        yield row


def attendance_file(*, req: CleanRequest, requester: User, path: str, progress: Progress) -> int:
    progress(2, _("Counting rows"))
    header, total, row_iter = rows.attendance_rows(requester, req.unit, req.date_from, req.date_to)
    row_iter = _counted(row_iter, total, progress)
    if req.fmt == "csv":
        return writers.csv_to(path, header, row_iter)
    book = writers.ReportWorkbook(path)
    sheet = book.sheet(_("Attendance"), header, widths=[12, 14, 30, 10, 18, 12, 30, 18, 16, 10, 24])
    count = sheet.extend(row_iter)
    book.close()
    return count


# --- Learning record (学习档案) and the certificate of study hours (学时证明) -------------------------


def record_context(record: rows.LearningRecord) -> dict:
    s = record.summary
    return {
        "record": record,
        "person": record.person,
        "summary": s,
        "unit_label": s.unit_label,
        "entry_header": rows.record_entry_header(),
        "entry_rows": [[writers.display(v) for v in r] for r in rows.record_entry_rows(record)],
        "class_header": rows.record_class_header(),
        "attended_rows": [[writers.display(v) for v in r] for r in rows.record_class_rows(record.classes_attended)],
        "given_rows": [[writers.display(v) for v in r] for r in rows.record_class_rows(record.classes_given)],
        "exam_header": rows.record_exam_header(),
        "exam_rows": [[writers.display(v) for v in r] for r in rows.record_exam_rows(record)],
        "award_header": rows.record_award_header(),
        "award_rows": [[writers.display(v) for v in r] for r in rows.record_award_rows(record)],
        "source_rows": [[writers.display(v) for v in r] for r in rows.record_source_rows(record)],
        "course_header": [_("Date"), _("Course"), _("Credits")],
        "course_rows": [[writers.display(v) for v in (timezone.localtime(e.occurred_at).date(), e.label, e.points)]
                        for e in record.courses],
    }


def learning_record_pdf(*, req: CleanRequest, requester: User, path: str, progress: Progress) -> int:
    progress(10, _("Reading the record"))
    record = rows.learning_record(requester, req.person, req.year)
    progress(50, _("Rendering the PDF"))
    writers.pdf_to(path, "reports/pdf/certificate.html", record_context(record))
    return len(record.entries)


def learning_record_xlsx(*, req: CleanRequest, requester: User, path: str, progress: Progress) -> int:
    progress(10, _("Reading the record"))
    record = rows.learning_record(requester, req.person, req.year)
    s = record.summary
    book = writers.ReportWorkbook(path)
    summary = book.sheet(_("Summary"), [], widths=[30, 20, 14, 14])
    summary.append([req.title], fmt=book.title_format)
    summary.append([_("Name"), record.person.name])
    summary.append([_("Employee number"), record.person.employee_no])
    summary.append([_("Unit"), record.unit_full_name])
    summary.append([_("Year"), record.year])
    summary.append([_("Credits counted"), s.total])
    summary.append([_("Annual requirement"), s.required])
    summary.append([])
    summary.append([_("Source"), _("Earned"), _("Counted"), _("Annual cap")], fmt=book.header_format)
    summary.extend(rows.record_source_rows(record))
    entries = book.sheet(_("Credits"), rows.record_entry_header(), widths=[18, 16, 48, 10, 30])
    count = entries.extend(rows.record_entry_rows(record))
    book.sheet(_("Classes attended"), rows.record_class_header(), widths=[18, 40, 24, 8]).extend(
        rows.record_class_rows(record.classes_attended))
    book.sheet(_("Classes given"), rows.record_class_header(), widths=[18, 40, 24, 8]).extend(
        rows.record_class_rows(record.classes_given))
    book.sheet(_("Exams"), rows.record_exam_header(), widths=[18, 40, 10, 8]).extend(rows.record_exam_rows(record))
    book.sheet(_("Awards"), rows.record_award_header(), widths=[8, 30, 50]).extend(rows.record_award_rows(record))
    book.close()
    return count


def learning_records_zip(*, req: CleanRequest, requester: User, path: str, progress: Progress) -> int:
    """Everyone's 学时证明 of the subtree, one PDF each, in one zip (written as it goes)."""
    people = list(rows.people_of(req.unit).select_related("unit", "cadre_level").order_by("unit__path", "employee_no"))
    total = len(people)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i, person in enumerate(people, start=1):
            record = rows.learning_record(requester, person, req.year)
            data = writers.render_pdf_bytes("reports/pdf/certificate.html", record_context(record))
            safe_name = "".join(ch for ch in person.name if ch not in '\\/:*?"<>|')
            archive.writestr(f"{person.employee_no}_{safe_name}_{req.year}.pdf", data)
            progress(100 * i / max(total, 1), _("Certificates: %(done)s of %(total)s") % {"done": i, "total": total})
    return total


BUILDERS = {
    (ReportKind.QUARTERLY, "xlsx"): quarterly_xlsx,
    (ReportKind.QUARTERLY, "pdf"): quarterly_pdf,
    (ReportKind.BRIEFING, "xlsx"): briefing_xlsx,
    (ReportKind.BRIEFING, "pdf"): briefing_pdf,
    (ReportKind.ATTENDANCE, "xlsx"): attendance_file,
    (ReportKind.ATTENDANCE, "csv"): attendance_file,
    (ReportKind.LEARNING_RECORD, "pdf"): learning_record_pdf,
    (ReportKind.LEARNING_RECORD, "xlsx"): learning_record_xlsx,
    (ReportKind.LEARNING_RECORDS, "zip"): learning_records_zip,
}
