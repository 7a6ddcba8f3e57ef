"""Pages every person uses: the catalog, a course, the player, my courses.

Views parse input, call one selector or service, render. A course outside the person's
scope is 404. Page views count a click in the cache (never a database write per view).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses import counters, memo, selectors, services
from courses.forms import CatalogFilterForm, RatingForm, RecommendForm
from courses.models import Course, Enrolment, Lesson
from courses.views import fragments
from courses.views.files import content_type_for, ranged_file_response

STAR_CHOICES = [(i, "★" * i) for i in range(5, 0, -1)]


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@login_required
@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    services.schedules_apply_due()
    facets = selectors.catalog_facets()
    form = None

    def parse() -> selectors.CatalogFilters:
        nonlocal form
        form = CatalogFilterForm(request.GET or None, categories=facets["categories"])
        return selectors.CatalogFilters(**form.filters())

    # The same query string always means the same filters: parse it once per process.
    query_key = f"courses:filters:{selectors.catalog_version()}:{request.GET.urlencode()}"
    filters = memo.through(query_key, 60, parse)
    try:
        page_number = int(request.GET.get("page", "1"))
    except ValueError:
        page_number = 1
    page = selectors.catalog_page(request.user, filters, page_number)
    cards = fragments.cached_fragment(f"{page.extra['cache_key']}:cards", "courses/_catalog_cards.html", {"rows": page.rows})
    values = {name: request.GET.get(name, "") for name in CatalogFilterForm.base_fields}
    query = sorted((k, v) for k, v in values.items() if v)
    filters_key = "courses:catalog-form:" + hashlib.sha1(
        f"{selectors.catalog_version()}|{query}".encode(), usedforsecurity=False
    ).hexdigest()

    def filters_context() -> dict:
        shown = form or CatalogFilterForm(request.GET or None, categories=facets["categories"])
        return {
            "values": values,
            "tags": facets["tags"],
            "selects": [
                (name, shown.fields[name].label, shown.fields[name].choices)
                for name in ("required", "category", "source", "length", "min_rating", "ordering")
            ],
        }

    filters_html = fragments.cached_fragment_lazy(filters_key, "courses/_catalog_filters.html", filters_context)
    return render(
        request,
        "courses/catalog.html",
        {"page": page, "cards_html": fragments.personalise(cards, page.rows), "filters_html": mark_safe(filters_html)},  # noqa: S308
    )


def _course_or_404(request: HttpRequest, pk: int) -> Course:
    try:
        return selectors.course_detail(request.user, pk)
    except Course.DoesNotExist as exc:
        raise Http404 from exc


@login_required
@require_GET
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    services.schedules_apply_due()
    course = _course_or_404(request, pk)
    counters.track(course_id=course.pk, cadre_level_id=request.user.cadre_level_id, person_id=request.user.pk)
    lessons = course.lesson_rows
    enrolment = course.my_enrolment
    next_lesson = next((lesson for lesson in lessons if not lesson.my_done), lessons[0] if lessons else None)
    if enrolment and enrolment.last_lesson_id and not enrolment.completed_at:
        next_lesson = next((lesson for lesson in lessons if lesson.pk == enrolment.last_lesson_id), next_lesson)
    key, seconds = selectors.course_key(course.pk), settings.COURSES_COURSE_CACHE_SECONDS
    head = fragments.cached_fragment(
        f"{key}:head", "courses/_course_head.html", {"course": course, "points": course.effective_points},
        seconds=seconds,
    )
    comments = fragments.cached_fragment(
        f"{key}:comments", "courses/_course_comments.html", {"comments": course.comments}, seconds=seconds
    )
    lessons_html = fragments.lesson_list(
        key, course.pk, lessons, linked=bool(enrolment) and course.status == Course.Status.ONLINE, seconds=seconds
    )
    head = head.replace("<!--required-->", fragments.required_badge(course.is_required, course.deadline), 1)
    head = head.replace("<!--counters-->", fragments.course_counters(course), 1)
    return render(
        request,
        "courses/course_detail.html",
        {
            "course": course,
            "head_html": mark_safe(head),  # noqa: S308 - rendered by our templates, escaped there
            "comments_html": mark_safe(comments),  # noqa: S308
            "lessons_html": lessons_html,
            "next_lesson": next_lesson,
            "enrolment": enrolment,
            "can_manage": selectors.can_manage_course(request.user, course),
            "can_follow": selectors.can_analyse_courses(request.user),
            "star_choices": STAR_CHOICES,
        },
    )


@login_required
@require_POST
def enrol(request: HttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(selectors.courses_visible_to(request.user), pk=pk)
    try:
        enrolment = services.course_enrol(person=request.user, course=course)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("courses:course_detail", pk=pk)
    lesson = enrolment.last_lesson or course.lessons.order_by("position", "id").first()
    if lesson is None:
        return redirect("courses:course_detail", pk=pk)
    return redirect("courses:lesson_player", pk=pk, lesson_pk=lesson.pk)


@login_required
@require_GET
def lesson_player(request: HttpRequest, pk: int, lesson_pk: int) -> HttpResponse:
    try:
        lesson = selectors.lesson_for_player(request.user, pk, lesson_pk)
    except Lesson.DoesNotExist as exc:
        raise Http404 from exc
    enrolment = Enrolment.objects.filter(person=request.user, course_id=pk).first()
    if enrolment is None:
        messages.info(request, _("Choose “Start learning” to study this course."))
        return redirect("courses:course_detail", pk=pk)
    if lesson.course.status != Course.Status.ONLINE:
        messages.error(request, _("This course is offline; it cannot be studied now."))
        return redirect("courses:course_detail", pk=pk)
    lessons = selectors.lessons_with_progress(request.user, lesson.course)
    index = next(i for i, row in enumerate(lessons) if row.pk == lesson.pk)
    current = lessons[index]
    return render(
        request,
        "courses/lesson_player.html",
        {
            "course": lesson.course,
            "lesson": current,
            "lessons": lessons,
            "enrolment": enrolment,
            "previous_lesson": lessons[index - 1] if index > 0 else None,
            "next_lesson": lessons[index + 1] if index + 1 < len(lessons) else None,
            "file_url": reverse("courses:lesson_file", args=[pk, lesson.pk]) if lesson.file else "",
            "media_type": content_type_for(lesson.file.name, lesson.file_kind) if lesson.file else "",
            "start_url": reverse("courses-api:lesson-start", args=[lesson.pk]),
            "heartbeat_url": reverse("courses:heartbeat", args=[lesson.pk]),
        },
    )


@login_required
@require_GET
@xframe_options_sameorigin
def lesson_file(request: HttpRequest, pk: int, lesson_pk: int) -> HttpResponse:
    """A lesson's file, only for people who may see the course (PDFs may be framed by us)."""
    try:
        lesson = selectors.lesson_for_player(request.user, pk, lesson_pk)
    except Lesson.DoesNotExist as exc:
        raise Http404 from exc
    if not lesson.file:
        raise Http404
    return ranged_file_response(
        request,
        lesson.file,
        download_name=lesson.file_name or f"lesson-{lesson.pk}",
        content_type=content_type_for(lesson.file.name, lesson.file_kind),
        as_attachment=request.GET.get("download") == "1",
    )


@login_required
@require_POST
def like(request: HttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(selectors.courses_visible_to(request.user), pk=pk)
    if request.POST.get("undo") == "1":
        services.course_unlike(person=request.user, course=course)
        liked = False
    else:
        services.course_like(person=request.user, course=course)
        liked = True
    course.refresh_from_db(fields=["like_count"])
    if request.headers.get("HX-Request"):
        return render(request, "courses/_like_button.html", {"course": course, "liked": liked})
    return redirect("courses:course_detail", pk=pk)


@login_required
@require_POST
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    course = get_object_or_404(selectors.courses_visible_to(request.user), pk=pk)
    form = RatingForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for errors in form.errors.values() for m in errors))
        return redirect(reverse("courses:course_detail", args=[pk]) + "#rate")
    try:
        services.course_rate(person=request.user, course=course, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Thank you for rating this course."))
    return redirect(reverse("courses:course_detail", args=[pk]) + "#rate")


@login_required
@require_POST
def recommend(request: HttpRequest, pk: int) -> HttpResponse:
    from org.models import User

    course = get_object_or_404(selectors.courses_visible_to(request.user), pk=pk)
    form = RecommendForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for errors in form.errors.values() for m in errors))
        return redirect(reverse("courses:course_detail", args=[pk]) + "#recommend")
    people = list(User.objects.filter(pk__in=form.cleaned_data["recipients"]))
    try:
        if len(people) != len(set(form.cleaned_data["recipients"])):
            raise ValidationError({"recipients": [_("Some of the chosen people do not exist.")]})
        created = services.course_recommend(
            sender=request.user, course=course, recipients=people, note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(
            request, _("Recommended to %(n)d colleague(s).") % {"n": len(created)} if created
            else _("You had already recommended it to them.")
        )
    return redirect(reverse("courses:course_detail", args=[pk]) + "#recommend")


@login_required
@require_GET
def colleague_search(request: HttpRequest) -> HttpResponse:
    """Colleagues matching ?q= (htmx): the recommend form's choices."""
    people = selectors.search_colleagues(request.user, request.GET.get("q", "")[:50])
    return render(request, "courses/_colleague_options.html", {"people": people})


@login_required
@require_GET
def my_courses(request: HttpRequest) -> HttpResponse:
    services.schedules_apply_due()
    mine = selectors.my_courses(request.user)
    return render(request, "courses/my_courses.html", {"mine": mine})


@login_required
@require_http_methods(["GET", "POST"])
def learners(request: HttpRequest, pk: int) -> HttpResponse:
    """Class teachers and admins follow the learners of a course in their scope."""
    course = get_object_or_404(selectors.courses_visible_to(request.user), pk=pk)
    if not selectors.can_analyse_courses(request.user):
        raise PermissionDenied
    if request.method == "POST":
        reminded = services.course_remind(actor=request.user, course=course)
        messages.success(request, _("Reminded %(n)d learner(s).") % {"n": reminded})
        return redirect("courses:learners", pk=pk)
    rows = selectors.course_learners(request.user, course)
    status = request.GET.get("status", "")
    if status == "done":
        rows = rows.filter(completed_at__isnull=False)
    elif status == "todo":
        rows = rows.filter(completed_at__isnull=True)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "courses/learners.html", {"course": course, "page": page, "status": status})
