"""Rendered HTML shared by many people, cached, with the personal bits filled in per request.

The catalog's cards and a course's header and comments look the same to everyone who
sees them, so they are rendered once per catalog version and language and kept in the
cache. What differs per person (the required badge with its deadline, their progress)
is left as placeholders — ``<!--b:ID-->`` and ``<!--p:ID-->`` — that one regular
expression pass replaces. This keeps the busiest pages cheap without a page cache that
would show one person's state to another.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.template.loader import render_to_string
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from courses import memo, selectors
from courses.selectors import CatalogRow
from courses.templatetags.courses_tags import percent_of

_PLACEHOLDER = re.compile(r"<!--([bp]):(\d+)-->")
_LESSON_PLACEHOLDER = re.compile(r"<!--([iw]):(\d+)-->")


def cached_fragment(key: str, template: str, context: dict, *, seconds: int | None = None) -> str:
    """`template` rendered with `context` (no request: nothing personal), cached under `key`."""
    return selectors.shared(f"{key}:{get_language()}", lambda: render_to_string(template, context), seconds=seconds)


def cached_fragment_lazy(key: str, template: str, context: Callable[[], dict]) -> str:
    """Like `cached_fragment`, building the context only when the fragment is not cached."""
    return selectors.shared(f"{key}:{get_language()}", lambda: render_to_string(template, context()))


def required_badge(is_required: bool, deadline) -> str:
    if not is_required:
        # Translators: 选修
        return format_html('<span class="badge text-bg-secondary">{}</span>', _("elective"))
    if deadline:
        return format_html(
            '<span class="badge text-bg-danger">{} · {}</span>', _("required"), date_format(deadline, "m-d")
        )
    # Translators: 必修
    return format_html('<span class="badge text-bg-danger">{}</span>', _("required"))


def progress_html(row: CatalogRow) -> str:
    if row.completed:
        return format_html(
            '<div class="small text-success mt-2"><i class="bi bi-check-circle-fill"></i> {}</div>', _("completed")
        )
    if row.progress is None:
        return ""
    return format_html(
        '<div class="progress mt-2" role="progressbar" aria-label="{}" aria-valuenow="{}" aria-valuemin="0" '
        'aria-valuemax="100" style="height: 6px"><div class="progress-bar" style="width: {}%"></div></div>',
        _("Progress"), row.progress, row.progress,
    )


def course_counters(course) -> str:
    """Live rating and learner counts for the course page header."""
    avg, count = course.rating_avg, course.rating_count
    stars = memo.through(  # the same few hundred (average, count) pairs, in two languages
        f"courses:stars:{get_language()}:{avg}:{count}",
        60,
        lambda: render_to_string("courses/_stars.html", {"avg": avg, "count": count}),
    )
    learners = format_html(
        '<span><i class="bi bi-people"></i> {}</span>',
        ngettext("%(n)d learner", "%(n)d learners", course.enrolment_count) % {"n": course.enrolment_count},
    )
    return format_html("<span>{}</span>{}", mark_safe(stars), learners)  # noqa: S308 - our template


def personalise(html: str, rows: list[CatalogRow]) -> SafeString:
    """Fill the cards' placeholders with this person's badges and progress."""
    by_id = {row.id: row for row in rows}

    def fill(match: re.Match) -> str:
        row = by_id.get(int(match.group(2)))
        if row is None:
            return ""
        return required_badge(row.is_required, row.deadline) if match.group(1) == "b" else progress_html(row)

    return mark_safe(_PLACEHOLDER.sub(fill, html))  # noqa: S308 - built from escaped fragments


def lesson_list(key: str, course_pk: int, lessons: list, *, linked: bool, seconds: int | None = None) -> SafeString:
    """The course page's lesson list: shared HTML (cached under `key`), this person's marks.

    `lessons` are `selectors.course_detail`'s `lesson_rows` (with `my_watched`, `my_done`);
    `linked` is whether the titles open the player (enrolled, course online).
    """
    html = cached_fragment(
        f"{key}:lessons:{int(linked)}",
        "courses/_lesson_list.html",
        {"lessons": lessons, "linked": linked, "course_pk": course_pk},
        seconds=seconds,
    )
    by_id = {lesson.pk: lesson for lesson in lessons}

    def fill(match: re.Match) -> str:
        lesson = by_id.get(int(match.group(2)))
        if lesson is None:
            return ""
        if match.group(1) == "w":
            if lesson.my_watched and not lesson.my_done:
                return f"{percent_of(lesson.my_watched, lesson.duration_seconds)}% · "
            return ""
        if lesson.my_done:
            return format_html('<i class="bi bi-check-circle-fill text-success" title="{}"></i>', _("done"))
        if lesson.kind == "document":
            return '<i class="bi bi-file-earmark-text"></i>'
        return '<i class="bi bi-play-circle"></i>'

    return mark_safe(_LESSON_PLACEHOLDER.sub(fill, html))  # noqa: S308 - built from escaped fragments
