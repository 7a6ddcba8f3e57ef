"""Course administration pages (unit admins for their subtree, system admins for all),
and the dynamic management (动态管理) page that admins and managers read.

A course outside the person's scope is 404; a course they can see but not manage is 403.
Every write goes through courses.services, which checks the scope again.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses import selectors, services
from courses.forms import AudienceForm, CourseForm, LessonForm, PeriodForm, PushForm, StatusForm
from courses.models import Course, CourseAudience, Lesson
from learning_portal.spreadsheets import write_csv
from org.forms import apply_service_errors


def course_admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log in first; then people who manage courses pass and everyone else gets 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not selectors.can_manage_courses(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _managed(request: HttpRequest, pk: int) -> Course:
    course = get_object_or_404(selectors.courses_visible_to(request.user).select_related("owner_unit", "category"), pk=pk)
    if not selectors.can_manage_course(request.user, course):
        raise PermissionDenied
    return course


def _units(request: HttpRequest):
    return selectors.manageable_units(request.user)


@course_admin_required
@require_http_methods(["GET", "POST"])
def manage_list(request: HttpRequest) -> HttpResponse:
    services.schedules_apply_due()
    if request.method == "POST":
        form = StatusForm(request.POST)
        if form.is_valid():
            ids = form.cleaned_data["courses"]
            courses = list(selectors.courses_visible_to(request.user).filter(pk__in=ids))
            try:
                if len(courses) != len(set(ids)):
                    raise Http404
                changed = services.courses_set_status(
                    actor=request.user, courses=courses, action=form.cleaned_data["action"], at=form.cleaned_data["at"]
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("%(n)d course(s) changed or scheduled.") % {"n": changed})
        else:
            messages.error(request, " ".join(str(m) for errors in form.errors.values() for m in errors))
        return redirect(request.get_full_path())
    courses = selectors.courses_managed_by(request.user).select_related("category", "owner_unit")
    status = request.GET.get("status", "")
    if status in Course.Status.values:
        courses = courses.filter(status=status)
    text = request.GET.get("q", "").strip()
    if text:
        courses = courses.filter(search_text__contains=text.lower())
    page = Paginator(courses.order_by("-updated_at", "-id"), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "courses/manage/list.html",
        {"page": page, "status": status, "statuses": Course.Status.choices, "q": text, "status_form": StatusForm()},
    )


@course_admin_required
@require_POST
def course_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Put one course online or offline, now or at a scheduled time (from its admin tabs)."""
    course = _managed(request, pk)
    form = StatusForm({**request.POST.dict(), "courses": [course.pk]})
    if form.is_valid():
        try:
            services.courses_set_status(
                actor=request.user, courses=[course], action=form.cleaned_data["action"], at=form.cleaned_data["at"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Saved."))
    else:
        messages.error(request, " ".join(str(m) for errors in form.errors.values() for m in errors))
    return redirect(request.POST.get("next") or reverse("courses:course_edit", args=[pk]))


def _course_input(form: CourseForm) -> services.CourseInput:
    data = form.cleaned_data
    return services.CourseInput(
        title=data["title"], source=data["source"], length_minutes=data["length_minutes"], summary=data["summary"],
        description_html=data["description_html"], category=data["category"], tags=form.tag_list(),
        provider=data["provider"], speaker=data["speaker"], points=data["points"], owner_unit=data["owner_unit"],
        quiz_exam_id=data["quiz_exam_id"], code=data["code"],
    )


@course_admin_required
@require_http_methods(["GET", "POST"])
def course_new(request: HttpRequest) -> HttpResponse:
    units = _units(request)
    initial = {}
    if not request.user.is_superuser and request.user.unit_id and units.filter(pk=request.user.unit_id).exists():
        initial["owner_unit"] = request.user.unit_id
    form = CourseForm(request.POST or None, units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            course = services.course_create(actor=request.user, data=_course_input(form))
        except ValidationError as error:
            apply_service_errors(form, error)
        except PermissionDenied as denied:
            form.add_error("owner_unit", str(denied))
        else:
            messages.success(request, _("Course created as a draft. Add its lessons next."))
            return redirect("courses:manage_lessons", pk=course.pk)
    return render(request, "courses/manage/course_form.html", {"form": form, "course": None})


@course_admin_required
@require_http_methods(["GET", "POST"])
def course_edit(request: HttpRequest, pk: int) -> HttpResponse:
    course = _managed(request, pk)
    initial = {
        "title": course.title, "code": course.code or "", "summary": course.summary,
        "description_html": course.description_html, "category": course.category_id,
        "tags": ", ".join(course.tags.values_list("name", flat=True)), "source": course.source,
        "provider": course.provider, "speaker": course.speaker, "length_minutes": course.length_minutes,
        "points": course.points, "owner_unit": course.owner_unit_id, "quiz_exam_id": course.quiz_exam_id,
    }
    form = CourseForm(request.POST or None, units=_units(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.course_update(actor=request.user, course=course, data=_course_input(form))
        except ValidationError as error:
            apply_service_errors(form, error)
        except PermissionDenied as denied:
            form.add_error("owner_unit", str(denied))
        else:
            messages.success(request, _("Course saved."))
            return redirect("courses:manage_lessons", pk=course.pk)
    return render(request, "courses/manage/course_form.html", {"form": form, "course": course})


@course_admin_required
@require_http_methods(["GET", "POST"])
def manage_lessons(request: HttpRequest, pk: int) -> HttpResponse:
    course = _managed(request, pk)
    form = LessonForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.lesson_add(
                actor=request.user, course=course, title=form.cleaned_data["title"], kind=form.cleaned_data["kind"],
                duration_seconds=form.duration_seconds(), upload=form.cleaned_data.get("file"),
                external_url=form.cleaned_data.get("external_url") or "",
            )
        except ValidationError as error:
            apply_service_errors(form, error, aliases={"duration_seconds": "duration_minutes"})
        else:
            messages.success(request, _("Lesson added."))
            return redirect("courses:manage_lessons", pk=course.pk)
    lessons = course.lessons.order_by("position", "id")
    return render(request, "courses/manage/lessons.html", {"course": course, "lessons": lessons, "form": form})


@course_admin_required
@require_http_methods(["GET", "POST"])
def lesson_edit(request: HttpRequest, pk: int, lesson_pk: int) -> HttpResponse:
    course = _managed(request, pk)
    lesson = get_object_or_404(Lesson, pk=lesson_pk, course=course)
    initial = {
        "title": lesson.title, "kind": lesson.kind, "duration_minutes": round(lesson.duration_seconds / 60, 1),
        "external_url": lesson.external_url,
    }
    form = LessonForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.lesson_update(
                actor=request.user, lesson=lesson, title=form.cleaned_data["title"], kind=form.cleaned_data["kind"],
                duration_seconds=form.duration_seconds(), upload=form.cleaned_data.get("file"),
                external_url=form.cleaned_data.get("external_url") or "",
            )
        except ValidationError as error:
            apply_service_errors(form, error, aliases={"duration_seconds": "duration_minutes"})
        else:
            messages.success(request, _("Lesson saved."))
            return redirect("courses:manage_lessons", pk=course.pk)
    return render(request, "courses/manage/lesson_form.html", {"course": course, "lesson": lesson, "form": form})


@course_admin_required
@require_POST
def lesson_delete(request: HttpRequest, pk: int, lesson_pk: int) -> HttpResponse:
    course = _managed(request, pk)
    lesson = get_object_or_404(Lesson, pk=lesson_pk, course=course)
    try:
        services.lesson_delete(actor=request.user, lesson=lesson)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Lesson removed."))
    return redirect("courses:manage_lessons", pk=course.pk)


@course_admin_required
@require_POST
def lesson_move(request: HttpRequest, pk: int, lesson_pk: int) -> HttpResponse:
    course = _managed(request, pk)
    ids = list(course.lessons.order_by("position", "id").values_list("pk", flat=True))
    if lesson_pk not in ids:
        raise Http404
    i = ids.index(lesson_pk)
    j = i - 1 if request.POST.get("direction") == "up" else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
        services.lessons_reorder(actor=request.user, course=course, lesson_ids=ids)
    return redirect("courses:manage_lessons", pk=course.pk)


@course_admin_required
@require_http_methods(["GET", "POST"])
def course_audience(request: HttpRequest, pk: int) -> HttpResponse:
    course = _managed(request, pk)
    units = _units(request)
    if course.owner_unit_id:
        units = units.filter(path__startswith=course.owner_unit.path)
    form = AudienceForm(request.POST or None, units=units)
    if request.method == "POST" and request.POST.get("remove"):
        audience = get_object_or_404(CourseAudience, pk=request.POST["remove"], course=course)
        services.course_audience_remove(actor=request.user, audience=audience)
        messages.success(request, _("Audience removed."))
        return redirect("courses:course_audience", pk=pk)
    if request.method == "POST" and form.is_valid():
        try:
            services.course_audience_add(actor=request.user, course=course, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Audience added."))
            return redirect("courses:course_audience", pk=pk)
    rows = course.audiences.select_related("unit", "cadre_level")
    return render(request, "courses/manage/audience.html", {"course": course, "rows": rows, "form": form})


@course_admin_required
@require_http_methods(["GET", "POST"])
def course_push(request: HttpRequest, pk: int) -> HttpResponse:
    course = _managed(request, pk)
    units = _units(request)
    if course.owner_unit_id:
        units = units.filter(path__startswith=course.owner_unit.path)
    form = PushForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            services.course_push(
                actor=request.user, course=course, message=form.cleaned_data["message"],
                units=list(form.cleaned_data["units"]), cadre_levels=list(form.cleaned_data["cadre_levels"]),
                show_until=form.cleaned_data["show_until"],
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("The push is on its way to its audience."))
            return redirect("courses:course_push", pk=pk)
    pushes = course.pushes.prefetch_related("units", "cadre_levels").order_by("-created_at")[:20]
    return render(request, "courses/manage/push.html", {"course": course, "form": form, "pushes": pushes})


@login_required
@require_GET
def dynamic(request: HttpRequest) -> HttpResponse:
    """动态管理: which courses to take offline, which to promote, what each level wants."""
    if not selectors.can_analyse_courses(request.user):
        raise PermissionDenied
    form = PeriodForm(request.GET or None)
    default = selectors.default_period()
    data = form.cleaned_data if form.is_valid() else {}
    period = selectors.Period(start=data.get("start") or default.start, end=data.get("end") or default.end)
    order = data.get("order") or "clicks"
    if request.GET.get("export") == "csv":
        return _ranking_csv(request, period, order)
    ranking = Paginator(selectors.course_ranking(request.user, period, order=order), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "courses/dynamic.html",
        {
            "form": form,
            "period": period,
            "order": order,
            "ranking": ranking,
            "offline": selectors.offline_candidates(request.user, period),
            "promote": selectors.promote_candidates(request.user, period),
            "lifecycle": selectors.lifecycle_counts(request.user, period),
            "demand": selectors.level_demand(request.user, period),
            "can_manage": selectors.can_manage_courses(request.user),
        },
    )


def _ranking_csv(request: HttpRequest, period: selectors.Period, order: str) -> HttpResponse:
    buffer = io.StringIO()
    header = [
        _("Id"), _("Title"), _("Category"), _("Status"), _("Clicks in period"), _("Completions in period"),
        _("Ratings in period"), _("Average rating"), _("Ratings"), _("Likes"), _("First online"),
    ]
    write_csv(buffer, header, selectors.ranking_rows(request.user, period, order=order))
    response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="course-ranking-{stamp}.csv"'
    return response
