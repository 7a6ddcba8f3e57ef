"""Every write of the courses app, one function per use case.

Each function validates everything first (raising ValidationError({field: [message]}) or
PermissionDenied) and only then writes, inside one transaction, so bad input changes
nothing. Scope is checked here as well as in the views. Counters on `Course` are kept
here, visibly, never by signals. Completion credits go through the credits service.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import nh3
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Min, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from courses import counters, memo, selectors
from courses.models import (
    Category,
    Course,
    CourseAudience,
    CourseEvent,
    CoursePush,
    Enrolment,
    Lesson,
    LessonProgress,
    Like,
    Rating,
    Recommendation,
    Tag,
)
from credits import services as credit_services
from learning_portal.uploads import validate_upload
from org import selectors as org_selectors
from org import services as org_services
from org.models import CadreLevel, OrgUnit, User

# --- Description HTML --------------------------------------------------------------------------

ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h3", "h4", "h5",
    "blockquote", "a", "span", "table", "thead", "tbody", "tr", "th", "td", "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
_ACTIVE_CONTENT = re.compile(
    r"<\s*(script|iframe|object|embed|style|form|svg|math)\b|\bon[a-z]+\s*=|javascript\s*:|vbscript\s*:",
    re.IGNORECASE,
)
DESCRIPTION_MAX_CHARS = 20_000


def description_clean(html: str, *, field: str = "description_html") -> str:
    """Sanitised description HTML. Scripts and other active content are refused outright.

    A description that tries to run code is almost always a paste gone wrong or an
    attack; silently dropping parts of it would publish something the author did not
    write, so the author is told what to remove instead. Everything else goes through
    nh3 with a small allow-list of formatting tags.
    """
    html = (html or "").strip()
    if len(html) > DESCRIPTION_MAX_CHARS:
        raise ValidationError(
            {field: [_("The description is at most %(n)d characters.") % {"n": DESCRIPTION_MAX_CHARS}]}
        )
    found = _ACTIVE_CONTENT.search(html)
    if found:
        raise ValidationError(
            {
                field: [
                    _(
                        "The description contains active content (“%(snippet)s”): scripts, "
                        "event handlers, frames and javascript: links are not allowed. "
                        "Remove it and save again."
                    )
                    % {"snippet": found.group(0).strip()[:40]}
                ]
            }
        )
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


# --- Courses ------------------------------------------------------------------------------------


@dataclass
class CourseInput:
    """The editable fields of a course, as a form or the API gives them."""

    title: str
    source: str
    length_minutes: int
    summary: str = ""
    description_html: str = ""
    category: Category | None = None
    tags: Sequence[str] = ()
    provider: str = ""
    speaker: str = ""
    points: Decimal | None = None
    owner_unit: OrgUnit | None = None
    quiz_exam_id: int | None = None
    code: str = ""


def _require_manage_owner(actor: User, owner_unit: OrgUnit | None) -> None:
    paths = org_selectors.scope_for(actor).paths("manage")
    if paths is None:
        return
    if owner_unit is None:
        raise PermissionDenied(
            _("Only a system administrator may publish courses for the whole organisation.")
        )
    if not any(owner_unit.path.startswith(p) for p in paths):
        raise PermissionDenied(_("You do not manage the unit “%(unit)s”.") % {"unit": owner_unit.name})


def _require_manage_course(actor: User, course: Course) -> None:
    if not selectors.can_manage_course(actor, course):
        raise PermissionDenied(_("You do not manage this course."))


def _clean_tags(tags: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for tag in tags:
        name = str(tag).strip().lstrip("#")
        if name and name not in cleaned:
            cleaned.append(name)
    return cleaned


def _validate_course(data: CourseInput, *, course: Course | None) -> dict:
    errors: dict[str, list[str]] = {}
    values: dict = {}
    title = (data.title or "").strip()
    if not title:
        errors["title"] = [_("A course needs a title.")]
    elif len(title) > 200:
        errors["title"] = [_("The title is at most 200 characters.")]
    values["title"] = title
    if data.source not in Course.Source.values:
        errors["source"] = [
            _("Choose a source: %(choices)s.") % {"choices": ", ".join(str(c) for c in Course.Source.labels)}
        ]
    values["source"] = data.source
    if isinstance(data.length_minutes, bool) or not isinstance(data.length_minutes, int) or not (
        0 < data.length_minutes <= 6000
    ):
        errors["length_minutes"] = [_("The length is a whole number of minutes between 1 and 6000.")]
    values["length_minutes"] = data.length_minutes
    if data.points is not None:
        try:
            points = Decimal(str(data.points))
        except InvalidOperation:
            points = None
        if points is None or not points.is_finite() or points < 0 or points > 1000 or points != points.quantize(Decimal("0.01")):
            errors["points"] = [_("Points are a number from 0 to 1000 with at most two decimals.")]
        values["points"] = points
    else:
        values["points"] = None
    summary = (data.summary or "").strip()
    if len(summary) > 500:
        errors["summary"] = [_("The summary is at most 500 characters.")]
    values["summary"] = summary
    try:
        values["description_html"] = description_clean(data.description_html)
    except ValidationError as error:
        errors.update(error.message_dict)
    for name, limit in (("provider", 100), ("speaker", 100)):
        text = (getattr(data, name) or "").strip()
        if len(text) > limit:
            errors[name] = [_("At most %(n)d characters.") % {"n": limit}]
        values[name] = text
    if data.category is not None and not data.category.is_active:
        errors["category"] = [_("The category “%(name)s” is no longer in use.") % {"name": data.category.name}]
    values["category"] = data.category
    tags = _clean_tags(data.tags)
    if len(tags) > 10:
        errors["tags"] = [_("At most 10 tags.")]
    elif any(len(t) > 30 for t in tags):
        errors["tags"] = [_("A tag is at most 30 characters.")]
    values["tags"] = tags
    code = (data.code or "").strip()
    if code:
        clash = Course.objects.filter(code=code)
        if course is not None:
            clash = clash.exclude(pk=course.pk)
        if clash.exists():
            errors["code"] = [_("The code “%(code)s” is already used by another course.") % {"code": code}]
    values["code"] = code or None
    if data.quiz_exam_id is not None and (
        isinstance(data.quiz_exam_id, bool) or not isinstance(data.quiz_exam_id, int) or data.quiz_exam_id <= 0
    ):
        errors["quiz_exam_id"] = [_("The quiz is the id of an exam.")]
    values["quiz_exam_id"] = data.quiz_exam_id
    values["owner_unit"] = data.owner_unit
    if errors:
        raise ValidationError(errors)
    return values


def _search_text(course: Course, tags: Iterable[str]) -> str:
    parts = [course.title, course.summary, course.speaker, course.provider, *tags]
    if course.category_id:
        parts.append(course.category.name)
    parts.append(str(course.get_source_display()))
    return " ".join(p for p in parts if p).lower()


def _set_tags(course: Course, names: list[str]) -> None:
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in names if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    course.tags.set([existing[n] for n in names])


def _check_quiz(actor: User, exam_id: int | None, current: int | None = None) -> None:
    """The quiz must be an exam of the exam engine that the actor can see."""
    if exam_id is None or exam_id == current:
        return
    from evaluations import selectors as exam_selectors

    if not exam_selectors.exams_visible_to(actor).filter(pk=exam_id).exists():
        raise ValidationError(
            {"quiz_exam_id": [_("There is no exam %(id)s that you can see; choose one from the exams list.") % {"id": exam_id}]}
        )


@transaction.atomic
def course_create(*, actor: User, data: CourseInput) -> Course:
    """Add a course (as a draft) owned by `data.owner_unit`, which the actor must manage."""
    values = _validate_course(data, course=None)
    _check_quiz(actor, values["quiz_exam_id"])
    _require_manage_owner(actor, values["owner_unit"])
    tags = values.pop("tags")
    course = Course(**values, created_by=actor)
    course.search_text = _search_text(course, tags)
    course.save()
    _set_tags(course, tags)
    transaction.on_commit(selectors.catalog_touch)
    return course


@transaction.atomic
def course_update(*, actor: User, course: Course, data: CourseInput) -> Course:
    """Change a course's fields. Moving it to another owner unit needs both units managed."""
    _require_manage_course(actor, course)
    values = _validate_course(data, course=course)
    _check_quiz(actor, values["quiz_exam_id"], current=course.quiz_exam_id)
    if values["owner_unit"] != course.owner_unit:
        _require_manage_owner(actor, values["owner_unit"])
    tags = values.pop("tags")
    for name, value in values.items():
        setattr(course, name, value)
    course.updated_at = timezone.now()
    course.search_text = _search_text(course, tags)
    course.save()
    _set_tags(course, tags)
    transaction.on_commit(selectors.catalog_touch)
    return course


# --- Lessons ---------------------------------------------------------------------------------------


def _validate_lesson(
    *, kind: str, title: str, duration_seconds: int, upload: UploadedFile | None, external_url: str, existing: Lesson | None
) -> dict:
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = [_("A lesson needs a title.")]
    elif len(title) > 200:
        errors["title"] = [_("The title is at most 200 characters.")]
    if kind not in Lesson.Kind.values:
        errors["kind"] = [_("Choose video, external video link or document.")]
    if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, int) or not (
        0 < duration_seconds <= 24 * 3600
    ):
        errors["duration_seconds"] = [_("The duration is a whole number of seconds between 1 and 86400.")]
    file_kind = existing.file_kind if existing else ""
    if kind == Lesson.Kind.EXTERNAL_VIDEO:
        url = (external_url or "").strip()
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            errors["external_url"] = [_("Give the video's web address, starting with https:// or http://.")]
        if upload is not None:
            errors["file"] = [_("An external video link takes no uploaded file.")]
    elif kind in (Lesson.Kind.VIDEO, Lesson.Kind.DOCUMENT):
        if upload is None and not (existing and existing.file and existing.kind == kind):
            errors["file"] = [_("Upload the lesson's file.")]
        elif upload is not None:
            kinds, limit = (
                (("video",), settings.COURSES_MAX_VIDEO_BYTES)
                if kind == Lesson.Kind.VIDEO
                else (("pdf", "pptx"), settings.COURSES_MAX_DOCUMENT_BYTES)
            )
            try:
                file_kind = validate_upload(upload, kinds=kinds, max_bytes=limit, field="file")
            except ValidationError as error:
                errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return {"title": title, "file_kind": file_kind}


@transaction.atomic
def lesson_add(
    *,
    actor: User,
    course: Course,
    title: str,
    kind: str,
    duration_seconds: int,
    upload: UploadedFile | None = None,
    external_url: str = "",
) -> Lesson:
    """Append a lesson to a course: an uploaded video, a PDF/PPTX, or a video link."""
    _require_manage_course(actor, course)
    values = _validate_lesson(
        kind=kind, title=title, duration_seconds=duration_seconds, upload=upload,
        external_url=external_url, existing=None,
    )
    course = Course.objects.select_for_update().get(pk=course.pk)
    last = course.lessons.order_by("-position").values_list("position", flat=True).first()
    lesson = Lesson(
        course=course,
        position=(last or 0) + 1,
        title=values["title"],
        kind=kind,
        duration_seconds=duration_seconds,
        external_url=external_url.strip() if kind == Lesson.Kind.EXTERNAL_VIDEO else "",
    )
    if upload is not None:
        lesson.file_kind = values["file_kind"]
        lesson.file_name = (upload.name or "")[-200:]
        lesson.file_size = upload.size or 0
        lesson.file.save(upload.name or "lesson", upload, save=False)
    lesson.save()
    _course_lessons_changed(course)
    return lesson


@transaction.atomic
def lesson_update(
    *,
    actor: User,
    lesson: Lesson,
    title: str,
    kind: str,
    duration_seconds: int,
    upload: UploadedFile | None = None,
    external_url: str = "",
) -> Lesson:
    _require_manage_course(actor, lesson.course)
    values = _validate_lesson(
        kind=kind, title=title, duration_seconds=duration_seconds, upload=upload,
        external_url=external_url, existing=lesson,
    )
    lesson.title = values["title"]
    lesson.kind = kind
    lesson.duration_seconds = duration_seconds
    lesson.external_url = external_url.strip() if kind == Lesson.Kind.EXTERNAL_VIDEO else ""
    old_file = lesson.file.name if lesson.file else ""
    if kind == Lesson.Kind.EXTERNAL_VIDEO:
        lesson.file, lesson.file_kind, lesson.file_name, lesson.file_size = None, "", "", 0
    elif upload is not None:
        lesson.file_kind = values["file_kind"]
        lesson.file_name = (upload.name or "")[-200:]
        lesson.file_size = upload.size or 0
        lesson.file.save(upload.name or "lesson", upload, save=False)
    lesson.save()
    if old_file and old_file != (lesson.file.name if lesson.file else ""):
        storage = Lesson._meta.get_field("file").storage
        transaction.on_commit(lambda: storage.delete(old_file))
    transaction.on_commit(selectors.catalog_touch)
    return lesson


@transaction.atomic
def lesson_delete(*, actor: User, lesson: Lesson) -> None:
    """Remove a lesson (and everyone's progress on it); enrolments are recounted."""
    course = lesson.course
    _require_manage_course(actor, course)
    course = Course.objects.select_for_update().get(pk=course.pk)
    if course.status == Course.Status.ONLINE and course.lesson_count <= 1:
        raise ValidationError({"lesson": [_("An online course needs at least one lesson: take it offline first.")]})
    old_file = lesson.file.name if lesson.file else ""
    lesson.delete()
    if old_file:
        storage = Lesson._meta.get_field("file").storage
        transaction.on_commit(lambda: storage.delete(old_file))
    _course_lessons_changed(course)


@transaction.atomic
def lessons_reorder(*, actor: User, course: Course, lesson_ids: Sequence[int]) -> None:
    """Put the course's lessons in the given order (every lesson exactly once)."""
    _require_manage_course(actor, course)
    current = set(course.lessons.values_list("pk", flat=True))
    if sorted(lesson_ids) != sorted(current) or len(set(lesson_ids)) != len(lesson_ids):
        raise ValidationError({"lessons": [_("List every lesson of the course exactly once.")]})
    for position, pk in enumerate(lesson_ids, start=1):
        Lesson.objects.filter(pk=pk).update(position=position)


def _course_lessons_changed(course: Course) -> None:
    """Recount lessons and every unfinished enrolment's progress after lessons changed."""
    total = Lesson.objects.filter(course=course).count()
    Course.objects.filter(pk=course.pk).update(lesson_count=total, updated_at=timezone.now())
    course.lesson_count = total
    for enrolment_id in Enrolment.objects.filter(course=course, completed_at__isnull=True).values_list(
        "pk", flat=True
    ).iterator(chunk_size=2000):
        _enrolment_refresh(enrolment_id)
    transaction.on_commit(selectors.catalog_touch)


# --- Lifecycle: online / offline, scheduled ----------------------------------------------------------


ONLINE, OFFLINE = "online", "offline"


def _validate_status_change(course: Course, action: str) -> list[str]:
    if action == ONLINE and course.lesson_count == 0:
        return [_("“%(title)s” has no lessons yet.") % {"title": course.title}]
    return []


def _apply_status(course: Course, action: str, *, actor: User | None, at: dt.datetime) -> bool:
    """Put a locked course online/offline now; returns False when it already was."""
    target = Course.Status.ONLINE if action == ONLINE else Course.Status.OFFLINE
    fields = ["scheduled_online_at" if action == ONLINE else "scheduled_offline_at"]
    setattr(course, fields[0], None)
    if course.status == target:
        course.save(update_fields=fields)
        return False
    first_time = action == ONLINE and course.first_online_at is None
    course.status = target
    course.status_changed_at = at
    if first_time:
        course.first_online_at = at
    course.save(update_fields=[*fields, "status", "status_changed_at", "first_online_at"])
    CourseEvent.objects.create(course=course, action=action, first_time=first_time, at=at, actor=actor)
    return True


@transaction.atomic
def courses_set_status(
    *, actor: User, courses: Sequence[Course], action: str, at: dt.datetime | None = None
) -> int:
    """Put courses online or offline now, or schedule it for `at` (individually or in bulk).

    Validated as a whole: when any course may not be changed, none is. Returns how many
    courses changed (or were scheduled).
    """
    if action not in (ONLINE, OFFLINE):
        raise ValidationError({"action": [_("The action is “online” or “offline”.")]})
    if not courses:
        raise ValidationError({"courses": [_("Choose at least one course.")]})
    now = timezone.now()
    if at is not None and timezone.is_naive(at):
        raise ValidationError({"at": [_("Give the time with its time zone.")]})
    ids = [c.pk for c in courses]
    locked = list(Course.objects.select_for_update(of=("self",)).select_related("owner_unit").filter(pk__in=ids).order_by("pk"))
    if len(locked) != len(set(ids)):
        raise ValidationError({"courses": [_("Some of the courses no longer exist.")]})
    errors: list[str] = []
    for course in locked:
        if not selectors.can_manage_course(actor, course):
            raise PermissionDenied(_("You do not manage “%(title)s”.") % {"title": course.title})
        errors += _validate_status_change(course, action)
    if errors:
        raise ValidationError({"courses": errors})
    changed = 0
    for course in locked:
        if at is not None and at > now:
            field = "scheduled_online_at" if action == ONLINE else "scheduled_offline_at"
            setattr(course, field, at)
            course.save(update_fields=[field])
            changed += 1
        elif _apply_status(course, action, actor=actor, at=now):
            changed += 1
    transaction.on_commit(_schedules_changed)
    return changed


def course_schedule_apply(*, now: dt.datetime | None = None) -> int:
    """Carry out every schedule that is due (periodic task); safe to run twice."""
    now = now or timezone.now()
    done = 0
    due = Course.objects.filter(
        Q(scheduled_online_at__lte=now) | Q(scheduled_offline_at__lte=now)
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            course = Course.objects.select_for_update().filter(pk=pk).first()
            if course is None:
                continue
            # Both due: the later one wins (e.g. a one-week course pushed late).
            actions = sorted(
                [(course.scheduled_online_at, ONLINE), (course.scheduled_offline_at, OFFLINE)],
                key=lambda pair: pair[0] or now,
            )
            for when, action in actions:
                if when is None or when > now:
                    continue
                if action == ONLINE and _validate_status_change(course, action):
                    course.scheduled_online_at = None
                    course.save(update_fields=["scheduled_online_at"])
                    continue
                if _apply_status(course, action, actor=None, at=when):
                    done += 1
    if done:
        selectors.catalog_touch()
    return done


NEXT_DUE_KEY = "courses:schedule-next-due"
NO_SCHEDULE = float("inf")


def _next_due_timestamp() -> float:
    times = [
        t for t in Course.objects.aggregate(on=Min("scheduled_online_at"), off=Min("scheduled_offline_at")).values() if t
    ]
    return min(times).timestamp() if times else NO_SCHEDULE


def schedules_apply_due(*, now: dt.datetime | None = None) -> int:
    """Carry out due schedules from a page view when no beat is running (embedded default).

    Costs one cache read while nothing is due; the next due time is re-read from the
    database after every change of a schedule (and at least hourly).
    """
    now = now or timezone.now()

    def load() -> float:
        next_due = cache.get(NEXT_DUE_KEY)
        if next_due is None:
            next_due = _next_due_timestamp()
            cache.set(NEXT_DUE_KEY, next_due, timeout=3600)
        return next_due

    if memo.through(NEXT_DUE_KEY, 5, load) > now.timestamp():
        return 0
    done = course_schedule_apply(now=now)
    next_due = _next_due_timestamp()
    cache.set(NEXT_DUE_KEY, next_due, timeout=3600)
    memo.put(NEXT_DUE_KEY, next_due, 5)
    return done


def _schedules_changed() -> None:
    cache.delete(NEXT_DUE_KEY)
    selectors.catalog_touch()  # clears the in-process memo too


# --- Audience and pushes -------------------------------------------------------------------------


@transaction.atomic
def course_audience_add(
    *,
    actor: User,
    course: Course,
    kind: str,
    unit: OrgUnit | None = None,
    cadre_level: CadreLevel | None = None,
    deadline: dt.date | None = None,
) -> CourseAudience:
    """Say a course is required (with an optional deadline) or elective for an audience.

    The audience is a unit's subtree and/or a cadre level; a unit admin may only target
    units they manage, and only inside the course's owner unit.
    """
    _require_manage_course(actor, course)
    errors: dict[str, list[str]] = {}
    if kind not in CourseAudience.Kind.values:
        errors["kind"] = [_("Choose required or elective.")]
    if kind == CourseAudience.Kind.ELECTIVE and deadline is not None:
        errors["deadline"] = [_("Only a required course has a deadline.")]
    if deadline is not None and deadline < timezone.localdate():
        errors["deadline"] = [_("The deadline %(date)s is in the past.") % {"date": deadline.isoformat()}]
    manage = org_selectors.scope_for(actor).paths("manage")
    if unit is None and manage is not None:
        unit = course.owner_unit
    if unit is not None:
        if manage is not None and not any(unit.path.startswith(p) for p in manage):
            errors["unit"] = [_("You do not manage the unit “%(unit)s”.") % {"unit": unit.name}]
        elif course.owner_unit_id and not unit.path.startswith(course.owner_unit.path):
            errors["unit"] = [
                _("“%(unit)s” cannot see this course: choose a unit inside “%(owner)s”.")
                % {"unit": unit.name, "owner": course.owner_unit.name}
            ]
    duplicate = CourseAudience.objects.filter(
        course=course, unit=unit, cadre_level=cadre_level
    ).exists()
    if duplicate and not errors:
        errors["unit"] = [_("This audience is already set for the course; remove it first to change it.")]
    if errors:
        raise ValidationError(errors)
    audience = CourseAudience.objects.create(
        course=course, kind=kind, unit=unit, cadre_level=cadre_level, deadline=deadline, created_by=actor
    )
    transaction.on_commit(selectors.catalog_touch)
    return audience


@transaction.atomic
def course_audience_remove(*, actor: User, audience: CourseAudience) -> None:
    _require_manage_course(actor, audience.course)
    audience.delete()
    transaction.on_commit(selectors.catalog_touch)


@transaction.atomic
def course_push(
    *,
    actor: User,
    course: Course,
    message: str = "",
    units: Sequence[OrgUnit] = (),
    cadre_levels: Sequence[CadreLevel] = (),
    show_until: dt.date | None = None,
) -> CoursePush:
    """Push a course (重点课程推送) to an audience: notified now, shown on their home page.

    The notifications go out from a Celery task after commit, in batches, so a push to a
    whole city neither blocks the request nor sends anything if this transaction fails.
    """
    _require_manage_course(actor, course)
    errors: dict[str, list[str]] = {}
    if course.status != Course.Status.ONLINE:
        errors["course"] = [_("Only an online course can be pushed.")]
    message = (message or "").strip()
    if len(message) > 500:
        errors["message"] = [_("The message is at most 500 characters.")]
    today = timezone.localdate()
    show_until = show_until or today + dt.timedelta(days=30)
    if show_until < today:
        errors["show_until"] = [_("“Show until” %(date)s is in the past.") % {"date": show_until.isoformat()}]
    manage = org_selectors.scope_for(actor).paths("manage")
    outside = [u.name for u in units if manage is not None and not any(u.path.startswith(p) for p in manage)]
    if outside:
        errors["units"] = [_("You do not manage: %(units)s.") % {"units": "、".join(outside)}]
    if course.owner_unit_id:
        invisible = [u.name for u in units if not u.path.startswith(course.owner_unit.path)]
        if invisible:
            errors["units"] = [
                _("These units cannot see the course: %(units)s.") % {"units": "、".join(invisible)}
            ]
    if errors:
        raise ValidationError(errors)
    push = CoursePush.objects.create(course=course, message=message, show_until=show_until, created_by=actor)
    if not units and manage is not None:
        units = list(OrgUnit.objects.filter(path__in=manage))
        if course.owner_unit_id:
            units = [u for u in units if u.path.startswith(course.owner_unit.path)] or [course.owner_unit]
    push.units.set(units)
    push.cadre_levels.set(cadre_levels)
    from courses.tasks import send_push

    transaction.on_commit(lambda: send_push.delay(push.pk))
    return push


NOTIFY_BATCH = 2000


def course_push_send(*, push: CoursePush) -> int:
    """Notify a push's audience (once: a sent push is left alone); returns how many."""
    with transaction.atomic():
        push = CoursePush.objects.select_for_update(of=("self",)).select_related("course").get(pk=push.pk)
        if push.status == CoursePush.Status.SENT:
            return 0
        people = selectors.audience_people(
            units=list(push.units.all()), cadre_levels=list(push.cadre_levels.all()), within=None
        ).only("id", "is_active", "email")
        title = _("Recommended course: %(title)s") % {"title": push.course.title}
        link = reverse("courses:course_detail", args=[push.course_id])
        sent = 0
        batch: list[User] = []
        for person in people.iterator(chunk_size=NOTIFY_BATCH):
            batch.append(person)
            if len(batch) >= NOTIFY_BATCH:
                sent += len(org_services.notification_send(recipients=batch, title=title, body=push.message, link=link, kind="course_push"))
                batch = []
        if batch:
            sent += len(org_services.notification_send(recipients=batch, title=title, body=push.message, link=link, kind="course_push"))
        push.status = CoursePush.Status.SENT
        push.recipient_count = sent
        push.sent_at = timezone.now()
        push.save(update_fields=["status", "recipient_count", "sent_at"])
    return sent


# --- Enrolment and progress -------------------------------------------------------------------------------


def _origin_for(person: User, course: Course) -> str:
    if selectors.is_required_for(person, course):
        return Enrolment.Origin.REQUIRED
    if selectors.pushes_for(person).filter(course=course).exists():
        return Enrolment.Origin.PUSH
    if Recommendation.objects.filter(course=course, recipient=person).exists():
        return Enrolment.Origin.RECOMMENDATION
    return Enrolment.Origin.SELF


@transaction.atomic
def course_enrol(*, person: User, course: Course) -> Enrolment:
    """Start studying an online course the person can see. Enrolling twice returns the first."""
    if not selectors.courses_visible_to(person).filter(pk=course.pk).exists():
        raise PermissionDenied(_("You cannot see this course."))
    existing = Enrolment.objects.filter(person=person, course=course).first()
    if existing is not None:
        return existing
    if course.status != Course.Status.ONLINE:
        raise ValidationError({"course": [_("This course is not online, so it cannot be started.")]})
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(
                person=person, course=course, cadre_level_id=person.cadre_level_id,
                origin=_origin_for(person, course),
            )
    except IntegrityError:  # a double click raced us
        return Enrolment.objects.get(person=person, course=course)
    Course.objects.filter(pk=course.pk).update(enrolment_count=F("enrolment_count") + 1)
    return enrolment


@transaction.atomic
def lesson_start(*, person: User, lesson: Lesson, now: dt.datetime | None = None) -> LessonProgress:
    """Open a lesson in the player: returns the progress row with the resume position.

    Resets the heartbeat baseline (so a new page or device starts counting from now) and
    records which lesson the person studied last. The person must be enrolled.
    """
    now = now or timezone.now()
    course = lesson.course
    enrolment = Enrolment.objects.filter(person=person, course=course).first()
    if enrolment is None:
        raise ValidationError({"lesson": [_("You have not started this course: choose “Start learning” first.")]})
    if course.status != Course.Status.ONLINE:
        raise ValidationError({"lesson": [_("This course is offline; it cannot be studied now.")]})
    progress, _created = LessonProgress.objects.get_or_create(
        person=person, lesson=lesson, defaults={"enrolment": enrolment, "started_at": now}
    )
    LessonProgress.objects.filter(pk=progress.pk).update(
        last_heartbeat_at=now, accounted_until=now, last_client_time=None,
        heartbeat_count=F("heartbeat_count") + 1,
    )
    progress.refresh_from_db()
    Enrolment.objects.filter(pk=enrolment.pk).update(last_lesson=lesson, last_studied_at=now)
    counters.track(course_id=course.pk, cadre_level_id=person.cadre_level_id, person_id=person.pk, kind=counters.VIEW)
    return progress


@dataclass
class HeartbeatResult:
    position: int
    watched_seconds: int
    duration: int
    credited: int
    lesson_done: bool
    course_completed: bool

    @property
    def percent(self) -> int:
        return min(100, self.watched_seconds * 100 // max(1, self.duration))


def _merge(intervals: list[list[int]], start: int, end: int) -> list[list[int]]:
    """Add [start, end] to sorted disjoint intervals, merging overlaps and touching ends."""
    merged: list[list[int]] = []
    placed = False
    for s, e in intervals:
        if e < start - 1:
            merged.append([s, e])
        elif s > end + 1:
            if not placed:
                merged.append([start, end])
                placed = True
            merged.append([s, e])
        else:
            start, end = min(s, start), max(e, end)
    if not placed:
        merged.append([start, end])
    return sorted(merged)


def _heartbeat_error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def lesson_heartbeat(
    *,
    person_id: int,
    lesson_id: int,
    position: float,
    client_time: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> HeartbeatResult:
    """Record a heartbeat from the player: where playback is now, and the client's clock.

    Honest progress: the playback since the previous accepted heartbeat is credited as
    the stretch of the lesson just before `position`, at most as long as the wall-clock
    time (server time) that passed since then plus a small tolerance; a jump ahead
    (seeking) therefore credits only what was played after it. Borrowed tolerance is paid
    back from the next heartbeat, so many quick heartbeats cannot add it up. A heartbeat
    whose client clock claims more time passed than the server saw is refused.

    Takes the person's id only (the player's heartbeat token carries it, so the request
    needs no session or user lookup). Costs two queries: one read (progress + lesson +
    course) and one conditional update
    (the optimistic version check keeps two windows from crediting the same time), so it
    needs no transaction of its own. The heartbeat that finishes a lesson does more
    (once per lesson, in its own transaction).
    """
    now = now or timezone.now()
    if isinstance(position, bool) or not isinstance(position, int | float) or not math.isfinite(position) or position < 0:
        raise _heartbeat_error("position", _("The position is a number of seconds, 0 or more."))
    if client_time is not None and timezone.is_naive(client_time):
        raise _heartbeat_error("client_time", _("The client time needs a time zone."))
    row = _heartbeat_row(person_id, lesson_id)
    if row is None:
        raise _heartbeat_error(
            "lesson", _("You have not opened this lesson of a course you study: open it from the course page.")
        )
    if row.course_status != Course.Status.ONLINE:
        raise _heartbeat_error("lesson", _("This course is offline; progress is not recorded."))
    tolerance = settings.COURSES_HEARTBEAT_TOLERANCE_SECONDS
    last = row.last_heartbeat_at or row.started_at
    elapsed = (now - last).total_seconds()
    if client_time is not None and row.last_client_time is not None:
        client_elapsed = (client_time - row.last_client_time).total_seconds()
        if client_elapsed < 0:
            raise _heartbeat_error(
                "client_time", _("This heartbeat is older than the previous one; it was ignored.")
            )
        if client_elapsed > elapsed + tolerance:
            raise _heartbeat_error(
                "client_time",
                _(
                    "This heartbeat claims %(claimed)d s passed since the previous one, but only "
                    "%(real)d s did: progress cannot be faster than real time."
                )
                % {"claimed": client_elapsed, "real": elapsed},
            )
    duration = row.duration_seconds
    position_s = min(round(position), duration)
    accounted = row.accounted_until or last
    budget = max(0.0, min((now - accounted).total_seconds(), settings.COURSES_HEARTBEAT_MAX_GAP_SECONDS) + tolerance)
    previous = row.position_seconds
    floor = previous if position_s >= previous else 0
    start = max(floor, position_s - int(budget))
    credited = position_s - start
    watched = list(row.watched or [])
    watched_seconds = row.watched_seconds
    if credited > 0:
        watched = _merge(watched, start, position_s)
        watched_seconds = sum(e - s for s, e in watched)
    # Time spent beyond the real elapsed time (the tolerance) is owed by the next heartbeat.
    accounted_until = max(now, accounted + dt.timedelta(seconds=credited))
    newly_done = row.completed_at is None and watched_seconds >= math.ceil(duration * settings.COURSES_LESSON_DONE_RATIO)
    updated = _heartbeat_save(
        row,
        position_seconds=position_s,
        watched=watched,
        watched_seconds=watched_seconds,
        last_heartbeat_at=now,
        last_client_time=client_time,
        accounted_until=accounted_until,
        completed_at=now if newly_done else row.completed_at,
    )
    if not updated:
        raise _heartbeat_error(
            "lesson", _("This lesson is playing in another window at the same time; this window's progress was not counted.")
        )
    course_completed = False
    if newly_done:
        course_completed = _enrolment_refresh(row.enrolment_id, now=now)
    return HeartbeatResult(
        position=position_s,
        watched_seconds=watched_seconds,
        duration=duration,
        credited=credited,
        lesson_done=row.completed_at is not None or newly_done,
        course_completed=course_completed,
    )


# The heartbeat is the hottest write of the portal (every learner's player, every few
# seconds): its two statements are fixed SQL texts, which skips the ORM's query building
# (most of a heartbeat's CPU) and lets PostgreSQL reuse their plans.
_PROGRESS = LessonProgress._meta.db_table
_HEARTBEAT_READ = (
    "SELECT p.id, p.enrolment_id, p.position_seconds, p.watched, p.watched_seconds, "  # noqa: S608
    "p.last_heartbeat_at, p.last_client_time, p.accounted_until, p.heartbeat_count, "
    "p.completed_at, p.started_at, l.duration_seconds, c.status "
    f"FROM {_PROGRESS} p JOIN {Lesson._meta.db_table} l ON l.id = p.lesson_id "
    f"JOIN {Course._meta.db_table} c ON c.id = l.course_id "
    "WHERE p.person_id = %s AND p.lesson_id = %s"
)
_HEARTBEAT_SAVE = (
    f"UPDATE {_PROGRESS} SET position_seconds = %s, watched = %s, watched_seconds = %s, "  # noqa: S608
    "last_heartbeat_at = %s, last_client_time = %s, accounted_until = %s, "
    "heartbeat_count = heartbeat_count + 1, completed_at = %s "
    "WHERE id = %s AND heartbeat_count = %s"
)
# The same, committed without waiting for the WAL flush (PostgreSQL's asynchronous commit,
# for this statement's own transaction only). A crash of the database server may lose
# the last fraction of a second of such heartbeats, never part of one: the player's next
# heartbeat credits that playback again (within COURSES_HEARTBEAT_MAX_GAP_SECONDS), so
# progress stays honest. Used only for a heartbeat that completes nothing and runs on its
# own (not inside a transaction, whose other writes must stay durable).
_HEARTBEAT_SAVE_ASYNC = _HEARTBEAT_SAVE + " AND (SELECT set_config('synchronous_commit', 'off', true)) = 'off'"


@dataclass
class _HeartbeatRow:
    pk: int
    enrolment_id: int
    position_seconds: int
    watched: list
    watched_seconds: int
    last_heartbeat_at: dt.datetime | None
    last_client_time: dt.datetime | None
    accounted_until: dt.datetime | None
    heartbeat_count: int
    completed_at: dt.datetime | None
    started_at: dt.datetime
    duration_seconds: int
    course_status: str


def _heartbeat_row(person_id: int, lesson_id: int) -> _HeartbeatRow | None:
    with connection.cursor() as cursor:
        cursor.execute(_HEARTBEAT_READ, [person_id, lesson_id])
        found = cursor.fetchone()
    if found is None:
        return None
    (pk, enrolment_id, position, watched, watched_seconds, last_heartbeat_at, last_client_time,
     accounted_until, heartbeat_count, completed_at, started_at, duration, status) = found
    if isinstance(watched, str | bytes):
        watched = json.loads(watched)
    return _HeartbeatRow(
        pk=pk,
        enrolment_id=enrolment_id,
        position_seconds=position,
        watched=watched or [],
        watched_seconds=watched_seconds,
        last_heartbeat_at=selectors.db_datetime(last_heartbeat_at),
        last_client_time=selectors.db_datetime(last_client_time),
        accounted_until=selectors.db_datetime(accounted_until),
        heartbeat_count=heartbeat_count,
        completed_at=selectors.db_datetime(completed_at),
        started_at=selectors.db_datetime(started_at),
        duration_seconds=duration,
        course_status=status,
    )


def _heartbeat_save(row: _HeartbeatRow, **values) -> int:
    """Write the new progress unless another heartbeat of this row came first (0 rows)."""
    ops = connection.ops
    when = ops.adapt_datetimefield_value
    quiet = (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and values["completed_at"] == row.completed_at
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _HEARTBEAT_SAVE_ASYNC if quiet else _HEARTBEAT_SAVE,
            [
                values["position_seconds"],
                ops.adapt_json_value(values["watched"], None),
                values["watched_seconds"],
                when(values["last_heartbeat_at"]),
                when(values["last_client_time"]),
                when(values["accounted_until"]),
                when(values["completed_at"]),
                row.pk,
                row.heartbeat_count,
            ],
        )
        return cursor.rowcount


def _enrolment_refresh(enrolment_id: int, *, now: dt.datetime | None = None) -> bool:
    """Recount an enrolment's finished lessons; complete it when all are done (and the quiz).

    Returns True when this call completed the course.
    """
    now = now or timezone.now()
    with transaction.atomic():
        enrolment = (
            Enrolment.objects.select_for_update(of=("self",)).select_related("course", "person").filter(pk=enrolment_id).first()
        )
        if enrolment is None:
            return False
        course = enrolment.course
        done = LessonProgress.objects.filter(
            enrolment=enrolment, lesson__course=course, completed_at__isnull=False
        ).count()
        total = course.lesson_count
        enrolment.lessons_done = done
        enrolment.progress_percent = min(100, done * 100 // total) if total else 0
        fields = ["lessons_done", "progress_percent"]
        completes = (
            enrolment.completed_at is None
            and total > 0
            and done >= total
            and (not course.has_quiz or enrolment.quiz_passed_at is not None)
        )
        if completes:
            _complete(enrolment, now=now)
            fields += ["completed_at", "credit_entry_id"]
        enrolment.save(update_fields=fields)
        return completes


def _ledger_label(course: Course) -> str:
    """The cause as the ledger stores it: always in the site's language (it is data)."""
    with translation.override(settings.LANGUAGE_CODE):
        # Translators: the cause of a credit entry, e.g. 课程：《依法治国专题》
        return _("Course: “%(title)s”") % {"title": course.title[:170]}


def _complete(enrolment: Enrolment, *, now: dt.datetime) -> None:
    """Mark the enrolment complete, credit it and tell the learner (the caller saves it)."""
    enrolment.completed_at = now
    entry = _credit(enrolment)
    enrolment.credit_entry_id = entry.pk
    Course.objects.filter(pk=enrolment.course_id).update(completion_count=F("completion_count") + 1)
    org_services.notification_send(
        recipients=[enrolment.person],
        title=_("Course completed: %(title)s") % {"title": enrolment.course.title},
        body=_("You earned %(points)s credit points.") % {"points": entry.points},
        link=reverse("courses:course_detail", args=[enrolment.course_id]),
        kind="course_completed",
    )


def _credit(enrolment: Enrolment):
    """The ledger entry for a completed enrolment: one per course and person, ever."""
    course = enrolment.course
    return credit_services.credit_award(
        person=enrolment.person,
        source_kind="course",
        source_ref=f"courses.course:{course.pk}",
        points=selectors.course_points(course),
        idempotency_key=f"course:{course.pk}:{enrolment.person_id}",
        occurred_at=enrolment.completed_at,
        label=_ledger_label(course),
    )


@transaction.atomic
def completion_credit(*, enrolment: Enrolment) -> None:
    """Credit a completed enrolment that has no ledger entry yet (demo data, repairs).

    Safe to run any number of times: the idempotency key finds the existing entry.
    """
    if enrolment.completed_at is None:
        raise ValidationError({"enrolment": [_("The enrolment is not completed.")]})
    entry = _credit(enrolment)
    Enrolment.objects.filter(pk=enrolment.pk).update(credit_entry_id=entry.pk)


@transaction.atomic
def enrolment_quiz_pass(*, person: User, course: Course, passed_at: dt.datetime | None = None) -> Enrolment:
    """Record that the person passed the course's quiz; completes the course if lessons are done.

    Called by the exam engine (evaluations) when it exists; until then a course has no quiz
    unless `quiz_exam_id` is set, and this is the one way to satisfy it.
    """
    if not course.has_quiz:
        raise ValidationError({"course": [_("This course has no quiz.")]})
    enrolment = Enrolment.objects.filter(person=person, course=course).first()
    if enrolment is None:
        raise ValidationError({"course": [_("The person is not enrolled in this course.")]})
    if enrolment.quiz_passed_at is None:
        enrolment.quiz_passed_at = passed_at or timezone.now()
        enrolment.save(update_fields=["quiz_passed_at"])
        _enrolment_refresh(enrolment.pk)
        enrolment.refresh_from_db()
    return enrolment


def quiz_exam_passed(*, person: User, exam_id: int, passed_at: dt.datetime) -> int:
    """Hook of the exam engine (settings.EVALUATIONS_ON_EXAM_PASSED): `person` passed an exam.

    Every course the person studies whose quiz is that exam records the pass, and
    completes (and credits) if its lessons are done. A pass before enrolling is not
    carried over: the course page sends the learner to the quiz after the lessons.
    Returns how many enrolments recorded it; safe to call twice.
    """
    courses = Course.objects.filter(quiz_exam_id=exam_id, enrolments__person=person)
    count = 0
    for course in courses:
        enrolment_quiz_pass(person=person, course=course, passed_at=passed_at)
        count += 1
    return count


# --- Ratings, likes, recommendations ---------------------------------------------------------------------


def _require_visible(person: User, course: Course) -> None:
    if not selectors.courses_visible_to(person).filter(pk=course.pk).exists():
        raise PermissionDenied(_("You cannot see this course."))


@transaction.atomic
def course_rate(*, person: User, course: Course, stars: int, comment: str = "") -> Rating:
    """Rate a course 1–5 with an optional comment; rating again changes the rating.

    Only whole numbers 1 to 5 are accepted (not 0, 6, 4.5, "5" or nothing). The person
    must have started the course. The course's count, sum and average change with it.
    """
    errors: dict[str, list[str]] = {}
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        errors["stars"] = [_("A rating is a whole number of stars from 1 to 5.")]
    comment = (comment or "").strip()
    if len(comment) > 500:
        errors["comment"] = [_("The comment is at most 500 characters.")]
    if errors:
        raise ValidationError(errors)
    _require_visible(person, course)
    if not Enrolment.objects.filter(person=person, course=course).exists():
        raise ValidationError({"stars": [_("Start the course before rating it.")]})
    locked = Course.objects.select_for_update().only("id", "rating_count", "rating_sum", "rating_avg").get(pk=course.pk)
    now = timezone.now()
    rating = Rating.objects.filter(course=course, person=person).first()
    if rating is None:
        rating = Rating.objects.create(
            course=course, person=person, stars=stars, comment=comment,
            cadre_level_id=person.cadre_level_id, created_at=now, updated_at=now,
        )
        locked.rating_count += 1
        locked.rating_sum += stars
    else:
        locked.rating_sum += stars - rating.stars
        rating.stars, rating.comment, rating.updated_at = stars, comment, now
        rating.cadre_level_id = person.cadre_level_id
        rating.save(update_fields=["stars", "comment", "updated_at", "cadre_level"])
    locked.rating_avg = (Decimal(locked.rating_sum) / locked.rating_count).quantize(Decimal("0.01"))
    locked.save(update_fields=["rating_count", "rating_sum", "rating_avg"])
    transaction.on_commit(lambda: selectors.course_touch(course.pk))  # its comments changed
    return rating


@transaction.atomic
def course_like(*, person: User, course: Course) -> bool:
    """点赞: like a course once; liking again changes nothing. Returns True if new."""
    _require_visible(person, course)
    try:
        with transaction.atomic():
            Like.objects.create(person=person, course=course)
    except IntegrityError:
        return False
    Course.objects.filter(pk=course.pk).update(like_count=F("like_count") + 1)
    return True


@transaction.atomic
def course_unlike(*, person: User, course: Course) -> bool:
    """Take a like back; returns True if there was one."""
    deleted, _detail = Like.objects.filter(person=person, course=course).delete()
    if deleted:
        Course.objects.filter(pk=course.pk, like_count__gt=0).update(like_count=F("like_count") - 1)
    return bool(deleted)


RECOMMEND_MAX_RECIPIENTS = 50


@transaction.atomic
def course_recommend(
    *, sender: User, course: Course, recipients: Sequence[User], note: str = ""
) -> list[Recommendation]:
    """Recommend a course to colleagues; each is notified with the sender's note.

    Only colleagues in the sender's view scope (or their own unit) who can see the course
    may be chosen; when any chosen person is not allowed, nobody is notified. Someone the
    sender already recommended this course to is skipped, not notified twice.
    """
    _require_visible(sender, course)
    errors: dict[str, list[str]] = {}
    note = (note or "").strip()
    if len(note) > 200:
        errors["note"] = [_("The note is at most 200 characters.")]
    unique = list({p.pk: p for p in recipients}.values())
    if not unique:
        errors["recipients"] = [_("Choose at least one colleague.")]
    elif len(unique) > RECOMMEND_MAX_RECIPIENTS:
        errors["recipients"] = [_("At most %(n)d colleagues at a time.") % {"n": RECOMMEND_MAX_RECIPIENTS}]
    if course.status != Course.Status.ONLINE:
        errors["course"] = [_("Only an online course can be recommended.")]
    if unique and "recipients" not in errors:
        ids = [p.pk for p in unique]
        if sender.pk in ids:
            errors["recipients"] = [_("You cannot recommend a course to yourself.")]
        else:
            allowed = set(selectors.colleagues_for(sender).filter(pk__in=ids).values_list("pk", flat=True))
            outside = [p.name for p in unique if p.pk not in allowed]
            if outside:
                errors["recipients"] = [
                    _("You can only recommend to colleagues in your unit or scope; not allowed: %(names)s.")
                    % {"names": "、".join(outside)}
                ]
            else:
                blind = [p.name for p in unique if not selectors.courses_visible_to(p).filter(pk=course.pk).exists()]
                if blind:
                    errors["recipients"] = [
                        _("These colleagues cannot see this course: %(names)s.") % {"names": "、".join(blind)}
                    ]
    if errors:
        raise ValidationError(errors)
    already = set(
        Recommendation.objects.filter(course=course, sender=sender, recipient__in=unique).values_list(
            "recipient_id", flat=True
        )
    )
    new = [p for p in unique if p.pk not in already]
    created = Recommendation.objects.bulk_create(
        [Recommendation(course=course, sender=sender, recipient=p, note=note) for p in new]
    )
    if new:
        org_services.notification_send(
            recipients=new,
            title=_("%(name)s recommends the course “%(title)s”") % {"name": sender.name, "title": course.title},
            body=note,
            link=reverse("courses:course_detail", args=[course.pk]),
            kind="course_recommendation",
        )
    return created


@transaction.atomic
def course_remind(*, actor: User, course: Course) -> int:
    """A class teacher or admin reminds the unfinished learners in their scope who must take it.

    Only people for whom the course is required and who have not completed it are
    notified. Returns how many.
    """
    if not selectors.courses_visible_to(actor).filter(pk=course.pk).exists():
        raise PermissionDenied(_("You cannot see this course."))
    if not selectors.can_analyse_courses(actor):
        raise PermissionDenied(_("Only class teachers and admins may send reminders."))
    people = list(selectors.course_learners(actor, course).filter(required=True, completed_at__isnull=True))
    if not people:
        return 0
    deadline = (
        CourseAudience.objects.filter(course=course, kind=CourseAudience.Kind.REQUIRED, deadline__isnull=False)
        .order_by("deadline")
        .values_list("deadline", flat=True)
        .first()
    )
    body = _("Please complete it by %(date)s.") % {"date": deadline.isoformat()} if deadline else ""
    org_services.notification_send(
        recipients=people,
        title=_("Reminder: please study the required course “%(title)s”") % {"title": course.title},
        body=body,
        link=reverse("courses:course_detail", args=[course.pk]),
        kind="course_reminder",
    )
    return len(people)


# --- Categories -----------------------------------------------------------------------------------------


@transaction.atomic
def category_save(
    *, actor: User, category: Category | None = None, name: str, description: str = "", sort_order: int = 0, is_active: bool = True
) -> Category:
    """Create or change a catalog category (system admins: categories are organisation-wide)."""
    if not actor.is_superuser:
        raise PermissionDenied(_("Only a system administrator may change categories."))
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("A category needs a name.")]
    elif len(name) > 50:
        errors["name"] = [_("The name is at most 50 characters.")]
    elif Category.objects.filter(name=name).exclude(pk=getattr(category, "pk", None)).exists():
        errors["name"] = [_("There is already a category called “%(name)s”.") % {"name": name}]
    if errors:
        raise ValidationError(errors)
    category = category or Category()
    category.name, category.description = name, (description or "").strip()[:200]
    category.sort_order, category.is_active = sort_order, is_active
    category.save()
    transaction.on_commit(selectors.catalog_touch)
    return category


# --- Counters ---------------------------------------------------------------------------------------------


def counters_flush() -> int:
    """Write buffered click/view counts to the database (periodic task)."""
    from courses.models import CounterFlush

    written = counters.counters_flush()
    CounterFlush.objects.filter(flushed_at__lt=timezone.now() - dt.timedelta(days=7)).delete()
    return written
