"""Exam pages: exams open to me, taking an attempt (timed by the server), its result; and
for unit admins the question bank (with .xlsx import) and exams with their results."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from evaluations import selectors, services
from evaluations.forms import ExamForm, QuestionForm, QuestionImportForm, apply_errors
from evaluations.models import Attempt, Exam
from evaluations.views.common import first_message, require_admin, sheet_response
from org import selectors as org_selectors


@login_required
def exam_list(request: HttpRequest) -> HttpResponse:
    """考试: exams I may sit now, and my attempts."""
    services.attempts_expire_due(person=request.user)
    attempts = Paginator(selectors.my_attempts(request.user), 20).get_page(request.GET.get("page"))
    return render(request, "evaluations/exam_list.html", {
        "open_exams": selectors.exams_open_to(request.user), "page": attempts,
    })


def _visible_exam(request: HttpRequest, pk: int) -> Exam:
    return get_object_or_404(selectors.exams_visible_to(request.user).prefetch_related("tags"), pk=pk)


@login_required
def exam_detail(request: HttpRequest, pk: int) -> HttpResponse:
    exam = _visible_exam(request, pk)
    user = request.user
    services.attempts_expire_due(person=user, exam=exam)
    attempts = list(selectors.attempts_of(user, exam))
    return render(request, "evaluations/exam_detail.html", {
        "exam": exam, "attempts": attempts, "in_audience": selectors.in_exam_audience(exam, user),
        "open": exam.is_open(), "left": max(0, exam.attempts_allowed - len(attempts)),
        "current": next((a for a in attempts if a.status == Attempt.Status.IN_PROGRESS), None),
        "can_manage": org_selectors.can_manage_unit(user, exam.unit),
    })


@login_required
@require_POST
def exam_start(request: HttpRequest, pk: int) -> HttpResponse:
    exam = _visible_exam(request, pk)
    try:
        attempt = services.attempt_start(exam=exam, person=request.user)
    except ValidationError as error:
        messages.error(request, first_message(error))
        return redirect("evaluations:exam_detail", pk=pk)
    return redirect("evaluations:attempt_take", pk=attempt.pk)


def _own_attempt(request: HttpRequest, pk: int) -> Attempt:
    try:
        return selectors.attempt_for(request.user, pk)
    except Attempt.DoesNotExist:
        raise Http404 from None


@login_required
@require_http_methods(["GET", "POST"])
def attempt_take(request: HttpRequest, pk: int) -> HttpResponse:
    """The paper: questions with shuffled options, no answers, a countdown to the server's
    deadline. POST hands it in (the script also saves each answer as it is chosen)."""
    attempt = _own_attempt(request, pk)
    services.attempts_expire_due(person=request.user, exam=attempt.exam)
    attempt.refresh_from_db()
    if attempt.is_finished:
        return redirect("evaluations:attempt_result", pk=pk)
    paper = selectors.attempt_paper(attempt)
    error = ""
    if request.method == "POST":
        answers = {}
        for item in paper:
            chosen = request.POST.getlist(f"q{item.question_id}")
            try:
                answers[str(item.question_id)] = [int(c) for c in chosen]
            except ValueError:
                answers[str(item.question_id)] = chosen
        try:
            services.attempt_submit(attempt=attempt, person=request.user, answers=answers)
        except ValidationError as exc:
            error = first_message(exc)
            services.attempts_expire_due(person=request.user, exam=attempt.exam)
            attempt.refresh_from_db()
            if attempt.is_finished:
                messages.error(request, error)
                return redirect("evaluations:attempt_result", pk=pk)
        else:
            return redirect("evaluations:attempt_result", pk=pk)
    seconds_left = max(0, int((attempt.deadline - timezone.now()).total_seconds()))
    return render(request, "evaluations/attempt_take.html", {
        "attempt": attempt, "exam": attempt.exam, "paper": paper, "seconds_left": seconds_left, "error": error,
        "answers_url": reverse("evaluations-attempt-answers", args=[attempt.pk]),
    }, status=400 if error else 200)


@login_required
def attempt_result(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = _own_attempt(request, pk)
    if not attempt.is_finished:
        return redirect("evaluations:attempt_take", pk=pk)
    can_review = selectors.can_review_answers(attempt)
    return render(request, "evaluations/attempt_result.html", {
        "attempt": attempt, "exam": attempt.exam, "can_review": can_review,
        "review": selectors.attempt_review(attempt) if can_review else [],
    })


# --- Admin: exams ---------------------------------------------------------------------------------


@login_required
def exam_manage(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    exams = selectors.exams_managed_by(request.user).order_by("-opens_at", "-pk")
    page = Paginator(exams, 30).get_page(request.GET.get("page"))
    return render(request, "evaluations/manage/exams.html", {"page": page})


def _managed_exam(request: HttpRequest, pk: int) -> Exam:
    exam = _visible_exam(request, pk)
    if not org_selectors.can_manage_unit(request.user, exam.unit):
        raise PermissionDenied
    return exam


@login_required
@require_http_methods(["GET", "POST"])
def exam_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require_admin(request)
    exam = _managed_exam(request, pk) if pk else None
    initial = {}
    if exam is not None:
        initial = {f: getattr(exam, f) for f in (
            "title", "description", "question_count", "time_limit_minutes", "attempts_allowed", "pass_percent",
            "points_on_pass", "counts_for_awards")}
        initial.update(unit=exam.unit_id, tags=list(exam.tags.all()),
                       opens_at=timezone.localtime(exam.opens_at), closes_at=timezone.localtime(exam.closes_at))
    form = ExamForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            exam = services.exam_save(actor=request.user, exam=exam, **data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The exam was saved."))
            return redirect("evaluations:exam_results", pk=exam.pk)
    return render(request, "evaluations/manage/form.html", {
        "form": form, "title": _("Edit exam") if exam else _("New exam"), "back": reverse("evaluations:exam_manage"),
    })


@login_required
@require_POST
def exam_publish(request: HttpRequest, pk: int) -> HttpResponse:
    exam = _managed_exam(request, pk)
    try:
        services.exam_publish(actor=request.user, exam=exam)
    except ValidationError as error:
        messages.error(request, first_message(error))
    else:
        messages.success(request, _("The exam is published; its audience is being told."))
    return redirect("evaluations:exam_results", pk=pk)


def _next_month(when):
    local = timezone.localtime(when)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return local.replace(year=year, month=month, day=min(local.day, 28))


@login_required
@require_POST
def exam_copy(request: HttpRequest, pk: int) -> HttpResponse:
    """Copy an exam as a draft for the next month (e.g. the monthly 全员法制网上月考)."""
    exam = _managed_exam(request, pk)
    title = (request.POST.get("title") or "").strip() or exam.title
    try:
        copy = services.exam_copy(actor=request.user, exam=exam, title=title,
                                  opens_at=_next_month(exam.opens_at), closes_at=_next_month(exam.closes_at))
    except ValidationError as error:
        messages.error(request, first_message(error))
        return redirect("evaluations:exam_results", pk=pk)
    messages.success(request, _("A draft copy for next month was made; check it and publish it."))
    return redirect("evaluations:exam_edit", pk=copy.pk)


@login_required
@require_POST
def exam_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    services.exam_withdraw(actor=request.user, exam=_managed_exam(request, pk))
    messages.success(request, _("The exam was withdrawn."))
    return redirect("evaluations:exam_results", pk=pk)


@login_required
def exam_results(request: HttpRequest, pk: int) -> HttpResponse:
    """Results per person (best attempt) and per unit, in the viewer's scope; export."""
    exam = _visible_exam(request, pk)
    if not selectors.can_read_exam_results(request.user, exam):
        raise PermissionDenied
    fmt = request.GET.get("export")
    if fmt in ("xlsx", "csv"):
        return sheet_response(fmt, f"exam-{exam.pk}", selectors.exam_results_header(),
                              selectors.exam_results_rows(exam, request.user))
    people = Paginator(selectors.exam_person_results(exam, request.user), 50).get_page(request.GET.get("page"))
    return render(request, "evaluations/manage/exam_results.html", {
        "exam": exam, "page": people, "units": selectors.exam_unit_results(exam, request.user),
        "pool": selectors.pool_size(exam), "can_manage": org_selectors.can_manage_unit(request.user, exam.unit),
    })


# --- Admin: question bank ---------------------------------------------------------------------------


@login_required
def question_bank(request: HttpRequest) -> HttpResponse:
    require_admin(request)
    questions = selectors.questions_managed_by(request.user).order_by("-created_at", "-pk")
    text = request.GET.get("q", "").strip()
    if text:
        questions = questions.filter(text__icontains=text)
    tag = request.GET.get("tag", "")
    if tag.isdigit():
        questions = questions.filter(tags=int(tag))
    page = Paginator(questions, 30).get_page(request.GET.get("page"))
    from evaluations.models import QuestionTag

    return render(request, "evaluations/manage/questions.html", {
        "page": page, "q": text, "tag": tag, "tags": QuestionTag.objects.all(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    require_admin(request)
    question = get_object_or_404(selectors.questions_managed_by(request.user), pk=pk) if pk else None
    initial = QuestionForm.initial_for(question) if question else {"is_active": True}
    form = QuestionForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.question_save(actor=request.user, question=question, **form.payload())
        except ValidationError as error:
            apply_errors(form, error, {"choices": "option_A"})
        else:
            messages.success(request, _("The question was saved."))
            return redirect("evaluations:question_bank")
    return render(request, "evaluations/manage/form.html", {
        "form": form, "title": _("Edit question") if question else _("New question"),
        "back": reverse("evaluations:question_bank"),
    })


@login_required
@require_http_methods(["GET", "POST"])
def question_import(request: HttpRequest) -> HttpResponse:
    """Import questions from .xlsx; a dry run first shows every error by sheet, row, column."""
    require_admin(request)
    form = QuestionImportForm(request.POST or None, request.FILES or None, user=request.user, initial={"dry_run": True})
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.questions_import(
                actor=request.user, unit=form.cleaned_data["unit"], file=upload, filename=upload.name,
                dry_run=form.cleaned_data["dry_run"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if result.applied:
                messages.success(request, _("%(n)s questions imported.") % {"n": result.created})
                return redirect("evaluations:question_bank")
    return render(request, "evaluations/manage/question_import.html", {"form": form, "result": result},
                  status=400 if (result is not None and result.errors) or form.errors else 200)

