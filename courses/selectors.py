"""Scoped reads of the course catalog, shared by the pages and the API.

Who sees which course: a course owned by no unit is for everyone; a course owned by a
unit is for the people of that unit's subtree; people with a view right (unit admin,
manager, class teacher) also see every course owned inside their subtree, whatever its
status. Everyone else only ever sees online courses. Out-of-scope courses are simply not
in these querysets, so the views answer 404 for them.

Who manages which course: a system admin manages all; a unit admin manages the courses
owned inside their subtree.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from courses import memo
from courses.models import (
    Category,
    Course,
    CourseAudience,
    CourseDailyStat,
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
from credits import selectors as credit_selectors
from org import selectors as org_selectors
from org.models import CadreLevel, OrgUnit, User, prefix_q
from org.models import ancestor_paths as org_ancestor_paths

CATALOG_PAGE_SIZE = 24
CATALOG_VERSION_KEY = "courses:catalog-version"


# --- Scope ------------------------------------------------------------------------------------


def ancestor_paths(unit: OrgUnit | None) -> list[str]:
    """Materialised paths of `unit` and all its ancestors (empty for no unit)."""
    if unit is None:
        return []
    return org_ancestor_paths(unit.path)


def user_ancestor_paths(user: User) -> list[str]:
    """Paths of the person's unit and its ancestors (from the cached unit path: no query)."""
    return org_ancestor_paths(unit_path(user.unit_id))


def _owner_visible_q(user: User) -> Q:
    """Courses whose owner unit lets `user` see them (status not considered)."""
    scope = org_selectors.scope_for(user)
    if scope.view is None:
        return Q()
    q = Q(owner_unit__isnull=True)
    paths = user_ancestor_paths(user)
    if paths:
        q |= Q(owner_unit__path__in=paths)
    if scope.view:
        q |= prefix_q("owner_unit__path", scope.view)
    return q


def courses_visible_to(user: User) -> QuerySet[Course]:
    """Every course `user` may open: online ones for their unit, anything in their scope."""
    scope = org_selectors.scope_for(user)
    if scope.view is None:
        return Course.objects.all()
    online = Q(status=Course.Status.ONLINE) & _owner_visible_q(user)
    if scope.view:
        return Course.objects.filter(online | prefix_q("owner_unit__path", scope.view))
    return Course.objects.filter(online)


def courses_managed_by(user: User) -> QuerySet[Course]:
    """Courses `user` may edit, publish, push and analyse (unit admins: their subtree)."""
    return Course.objects.owned_within(org_selectors.scope_for(user).paths("manage"))


def courses_analysed_by(user: User) -> QuerySet[Course]:
    """Courses whose statistics `user` may read (dynamic management).

    Those owned inside the user's view scope; organisation-wide courses (no owner unit)
    too when the scope includes a root of the organisation (a city-level grant).
    """
    paths = org_selectors.scope_for(user).paths("view")
    courses = Course.objects.owned_within(paths)
    if paths and any(len(p) == OrgUnit.steplen for p in paths):
        courses = Course.objects.filter(Q(pk__in=courses.values("pk")) | Q(owner_unit__isnull=True))
    return courses


def can_manage_course(user: User, course: Course) -> bool:
    paths = org_selectors.scope_for(user).paths("manage")
    if paths is None:
        return True
    if course.owner_unit_id is None:
        return False
    return any(course.owner_unit.path.startswith(p) for p in paths)


def can_manage_courses(user: User) -> bool:
    """Whether `user` manages any courses at all (menu entries, admin pages)."""
    paths = org_selectors.scope_for(user).paths("manage")
    return paths is None or bool(paths)


def can_analyse_courses(user: User) -> bool:
    paths = org_selectors.scope_for(user).paths("view")
    return paths is None or bool(paths)


def manageable_units(user: User) -> QuerySet[OrgUnit]:
    return org_selectors.units_in_scope(user, access="manage")


def visible_lessons(user: User) -> QuerySet[Lesson]:
    return Lesson.objects.filter(course__in=courses_visible_to(user))


# --- Audience ------------------------------------------------------------------------------


def _audience_match_q(user: User, prefix: str = "") -> Q:
    """Audience rows (CourseAudience, or the same fields elsewhere) that match `user`."""
    level = Q(**{f"{prefix}cadre_level__isnull": True})
    if user.cadre_level_id:
        level |= Q(**{f"{prefix}cadre_level_id": user.cadre_level_id})
    unit = Q(**{f"{prefix}unit__isnull": True})
    paths = user_ancestor_paths(user)
    if paths:
        unit |= Q(**{f"{prefix}unit__path__in": paths})
    return level & unit


def required_audiences_for(user: User) -> QuerySet[CourseAudience]:
    return CourseAudience.objects.filter(
        _audience_match_q(user), kind=CourseAudience.Kind.REQUIRED
    )


def required_deadlines(user: User, course_ids: Iterable[int] | None = None) -> dict[int, dt.date | None]:
    """`{course id: earliest deadline or None}` for courses required of `user`."""
    rows = required_audiences_for(user)
    if course_ids is not None:
        rows = rows.filter(course_id__in=list(course_ids))
    deadlines: dict[int, dt.date | None] = {}
    for course_id, deadline in rows.values_list("course_id", "deadline"):
        if course_id not in deadlines:
            deadlines[course_id] = deadline
        elif deadline is not None:
            current = deadlines[course_id]
            deadlines[course_id] = deadline if current is None else min(current, deadline)
    return deadlines


def required_map(user: User, version: int | None = None) -> dict[int, dt.date | None]:
    """`required_deadlines(user)`, shared by everyone of the same unit and cadre level."""
    version = catalog_version() if version is None else version
    return shared(
        f"courses:required:{version}:{user.unit_id}:{user.cadre_level_id}", lambda: required_deadlines(user)
    )


def is_required_for(user: User, course: Course) -> bool:
    return required_audiences_for(user).filter(course=course).exists()


def audience_people(
    *, units: Iterable[OrgUnit], cadre_levels: Iterable[CadreLevel], within: tuple[str, ...] | None
) -> QuerySet[User]:
    """Active people in any of `units` (or all of `within`) at any of `cadre_levels` (or all)."""
    unit_paths = [u.path for u in units]
    people = User.objects.active()
    people = people.in_units(unit_paths) if unit_paths else people.in_units(within)
    level_ids = [lv.pk for lv in cadre_levels]
    if level_ids:
        people = people.filter(cadre_level_id__in=level_ids)
    return people


def pushes_for(user: User, *, today: dt.date | None = None) -> QuerySet[CoursePush]:
    """Pushed courses (重点课程推送) currently shown to `user`, newest first."""
    today = today or timezone.localdate()
    paths = user_ancestor_paths(user)
    unit_through = CoursePush.units.through
    level_through = CoursePush.cadre_levels.through
    any_unit = unit_through.objects.filter(coursepush_id=OuterRef("pk"))
    my_unit = any_unit.filter(orgunit__path__in=paths)
    any_level = level_through.objects.filter(coursepush_id=OuterRef("pk"))
    my_level = any_level.filter(cadrelevel_id=user.cadre_level_id)
    return (
        CoursePush.objects.filter(
            status=CoursePush.Status.SENT,
            show_until__gte=today,
            course__status=Course.Status.ONLINE,
        )
        .filter(Q(~Exists(any_unit)) | Exists(my_unit))
        .filter(Q(~Exists(any_level)) | Exists(my_level))
        .filter(course__in=courses_visible_to(user))
        .select_related("course")
        .order_by("-created_at")
    )


# --- Points -------------------------------------------------------------------------------------


def course_points(course: Course, *, memo: dict[int, Decimal] | None = None) -> Decimal:
    """The course's credit points: its own, or what the credit rules give for its length."""
    if course.points is not None:
        return course.points
    if memo is not None and course.length_minutes in memo:
        return memo[course.length_minutes]
    points = credit_selectors.course_points(minutes=course.length_minutes)
    if memo is not None:
        memo[course.length_minutes] = points
    return points


# --- Catalog ---------------------------------------------------------------------------------------


ORDERINGS = {
    "new": ("-first_online_at", "-id"),
    "popular": ("-click_count", "-id"),
    "rating": ("-rating_avg", "-rating_count", "-id"),
    "likes": ("-like_count", "-id"),
    "learners": ("-enrolment_count", "-id"),
    "short": ("length_minutes", "-id"),
}


@dataclass(frozen=True)
class CatalogFilters:
    """What a learner may filter the catalog by; every field optional."""

    q: str = ""
    category: int | None = None
    tag: str = ""
    source: str = ""
    speaker: str = ""
    required: str = ""  # "required" | "elective" | ""
    min_minutes: int | None = None
    max_minutes: int | None = None
    min_rating: Decimal | None = None
    ordering: str = "new"

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)


@dataclass
class CatalogRow:
    """One course as the catalog shows it (plain data, cacheable)."""

    id: int
    title: str
    summary: str
    category: str
    tags: list[str]
    source: str
    source_label: str
    provider: str
    speaker: str
    length_minutes: int
    points: Decimal
    rating_avg: Decimal
    rating_count: int
    like_count: int
    enrolment_count: int
    click_count: int
    lesson_count: int
    status: str
    is_required: bool
    deadline: dt.date | None
    first_online_at: dt.datetime | None
    progress: int | None = None
    completed: bool = False


@dataclass
class CatalogPage:
    rows: list[CatalogRow]
    count: int
    number: int
    num_pages: int
    extra: dict = field(default_factory=dict)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.num_pages

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def _cache_seconds() -> int:
    return settings.COURSES_CATALOG_CACHE_SECONDS


def shared(key: str, load, *, seconds: int | None = None):
    """`load()` memoised in this process and in the shared cache (see courses.memo).

    The value must be picklable and not None. Keys that can go stale carry the catalog
    version, so a service's `catalog_touch` makes every dependent value unreachable.
    """
    ttl = max(_cache_seconds(), 1) if seconds is None else seconds
    value = memo.get(key)
    if value is not memo._MISSING:
        return value
    value = cache.get(key)
    if value is None:
        value = load()
        cache.set(key, value, timeout=ttl)
    memo.put(key, value, min(ttl, 10))
    return value


def catalog_version() -> int:
    """Bumped by every service that changes what the catalog shows (read at most once a second)."""
    return memo.through(
        CATALOG_VERSION_KEY, memo.VERSION_SECONDS, lambda: cache.get_or_set(CATALOG_VERSION_KEY, 1, timeout=None) or 1
    )


def catalog_touch() -> None:
    """Invalidate every cached catalog page and course page (services call this on change)."""
    try:
        cache.incr(CATALOG_VERSION_KEY)
    except ValueError:
        cache.set(CATALOG_VERSION_KEY, 2, timeout=None)
    memo.clear()


def unit_path(unit_id: int | None) -> str:
    """The materialised path of a unit, cached briefly (a person's unit, read on every page)."""
    if not unit_id:
        return ""
    return shared(
        f"courses:unit-path:{unit_id}",
        lambda: OrgUnit.objects.filter(pk=unit_id).values_list("path", flat=True).first() or "",
    )


def _owner_units(version: int) -> list[tuple[int, str]]:
    """(id, path) of every unit that owns a course (few; cached with the catalog version)."""
    return shared(
        f"courses:owners:{version}",
        lambda: list(
            OrgUnit.objects.filter(pk__in=Course.objects.filter(owner_unit__isnull=False).values("owner_unit_id"))
            .values_list("pk", "path")
        ),
    )


def _sees_owner(user: User, owner_path: str | None, *, status: str | None = None) -> bool:
    """Whether `user` may open a course with this owner path (and status), without a query."""
    scope = org_selectors.scope_for(user)
    if scope.view is None:
        return True
    if owner_path is not None and any(owner_path.startswith(p) for p in scope.view):
        return True
    if status is not None and status != Course.Status.ONLINE:
        return False
    return owner_path is None or unit_path(user.unit_id).startswith(owner_path)


def _visible_owner_ids(user: User, version: int) -> tuple[int, ...]:
    """The owner units whose online courses `user` may see: the catalog's visibility key.

    Most people see the same set (the organisation-wide courses plus their own units'),
    so catalog pages computed for one person serve everyone with the same set.
    """
    return tuple(sorted(pk for pk, path in _owner_units(version) if _sees_owner(user, path)))


def _catalog_courses(owner_ids: tuple[int, ...], filters: CatalogFilters, required_ids: list[int]) -> QuerySet[Course]:
    courses = Course.objects.filter(status=Course.Status.ONLINE).filter(
        Q(owner_unit__isnull=True) | Q(owner_unit_id__in=owner_ids)
    )
    text = filters.q.strip().lower()
    for word in text.split()[:5]:
        courses = courses.filter(search_text__contains=word)
    if filters.category:
        courses = courses.filter(category_id=filters.category)
    if filters.tag:
        courses = courses.filter(tags__name=filters.tag)
    if filters.source:
        courses = courses.filter(source=filters.source)
    if filters.speaker.strip():
        courses = courses.filter(speaker__icontains=filters.speaker.strip())
    if filters.required == "required":
        courses = courses.filter(pk__in=required_ids)
    elif filters.required == "elective":
        courses = courses.exclude(pk__in=required_ids)
    if filters.min_minutes is not None:
        courses = courses.filter(length_minutes__gte=filters.min_minutes)
    if filters.max_minutes is not None:
        courses = courses.filter(length_minutes__lte=filters.max_minutes)
    if filters.min_rating is not None:
        courses = courses.filter(rating_avg__gte=filters.min_rating)
    return courses.order_by(*ORDERINGS.get(filters.ordering, ORDERINGS["new"]))


def catalog_queryset(user: User, filters: CatalogFilters) -> QuerySet[Course]:
    """Online courses `user` may see, filtered and ordered (for exports and tests)."""
    required_ids = sorted(required_deadlines(user)) if filters.required else []
    return _catalog_courses(_visible_owner_ids(user, catalog_version()), filters, required_ids)


def _rows_for(courses: list[Course]) -> list[CatalogRow]:
    memo: dict[int, Decimal] = {}
    return [
        CatalogRow(
            id=c.pk,
            title=c.title,
            summary=c.summary,
            category=c.category.name if c.category_id else "",
            tags=[t.name for t in c.tags.all()],
            source=c.source,
            source_label=str(c.get_source_display()),
            provider=c.provider,
            speaker=c.speaker,
            length_minutes=c.length_minutes,
            points=course_points(c, memo=memo),
            rating_avg=c.rating_avg,
            rating_count=c.rating_count,
            like_count=c.like_count,
            enrolment_count=c.enrolment_count,
            click_count=c.click_count,
            lesson_count=c.lesson_count,
            status=c.status,
            is_required=False,
            deadline=None,
            first_online_at=c.first_online_at,
        )
        for c in courses
    ]


def catalog_page(user: User, filters: CatalogFilters, page: int = 1, *, page_size: int = CATALOG_PAGE_SIZE) -> CatalogPage:
    """One page of the catalog for `user`: required marks, deadlines and own progress included.

    The rows depend only on which owner units the person may see (the same for almost
    everyone), the filters and the language, so a page computed once serves everyone
    alike until a service changes the catalog or `COURSES_CATALOG_CACHE_SECONDS` pass
    (counters may lag that long). Per request: the person's required courses and their
    own progress (two indexed queries). `extra["cache_key"]` names the shared page, for
    caching its rendering too.
    """
    from django.utils.translation import get_language

    version = catalog_version()
    deadlines = required_map(user, version)
    required_ids = sorted(deadlines)
    owners = _visible_owner_ids(user, version)
    parts = [version, owners, filters.key(), page, page_size, get_language()]
    if filters.required:
        parts.append(required_ids)
    key = "courses:catalog:" + hashlib.sha1(repr(parts).encode(), usedforsecurity=False).hexdigest()
    if _cache_seconds() > 0:
        cached = shared(key, lambda: _catalog_page_uncached(owners, filters, required_ids, page, page_size))
        result = dataclasses.replace(cached, rows=[copy.copy(row) for row in cached.rows], extra={})
    else:
        result = _catalog_page_uncached(owners, filters, required_ids, page, page_size)
    result.extra["cache_key"] = key
    for row in result.rows:
        row.is_required = row.id in deadlines
        row.deadline = deadlines.get(row.id)
    _add_own_progress(user, result.rows)
    return result


def _catalog_page_uncached(
    owners: tuple[int, ...], filters: CatalogFilters, required_ids: list[int], page: int, page_size: int
) -> CatalogPage:
    courses = _catalog_courses(owners, filters, required_ids)
    count = courses.count()
    num_pages = max(1, -(-count // page_size))
    number = min(max(1, page), num_pages)
    start = (number - 1) * page_size
    items = list(
        courses.select_related("category").prefetch_related(
            Prefetch("tags", queryset=Tag.objects.only("id", "name"))
        )[start : start + page_size]
    )
    return CatalogPage(rows=_rows_for(items), count=count, number=number, num_pages=num_pages)


def _add_own_progress(user: User, rows: list[CatalogRow]) -> None:
    ids = [r.id for r in rows]
    if not ids:
        return
    mine = {
        cid: (pct, done)
        for cid, pct, done in Enrolment.objects.filter(person=user, course_id__in=ids).values_list(
            "course_id", "progress_percent", "completed_at"
        )
    }
    for row in rows:
        pct, done = mine.get(row.id, (None, None))
        row.progress = pct
        row.completed = done is not None


def catalog_facets() -> dict:
    """Categories and tags offered as filters (cached: they change rarely)."""

    def load() -> dict:
        return {
            "categories": list(Category.objects.filter(is_active=True).values("id", "name")),
            "tags": list(
                Tag.objects.annotate(n=Count("courses", filter=Q(courses__status=Course.Status.ONLINE)))
                .filter(n__gt=0)
                .order_by("-n", "name")
                .values_list("name", flat=True)[:30]
            ),
        }

    return shared(f"courses:facets:{catalog_version()}", load)


# --- One course -----------------------------------------------------------------------------------


@dataclass
class CoursePublic:
    """What every viewer of a course sees alike (cached per catalog version)."""

    course: Course
    tags: list[str]
    lessons: list[Lesson]
    comments: list[Rating]


def course_public(pk: int) -> CoursePublic | None:
    """The course with its category, owner unit, tags, lessons and latest comments, or None.

    Cached for `COURSES_COURSE_CACHE_SECONDS`, until a service changes the catalog
    (`catalog_touch`) or this course's comments (`course_touch`). The counters shown on
    the page are read fresh with the person's own state, so they never lag.
    """
    def load() -> CoursePublic | str:
        course = (
            Course.objects.select_related("category", "owner_unit")
            .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name")))
            .filter(pk=pk)
            .first()
        )
        if course is None:
            return "missing"
        return CoursePublic(
            course=course,
            tags=[t.name for t in course.tags.all()],
            lessons=list(Lesson.objects.filter(course_id=pk).order_by("position", "id")),
            comments=list(course_comments(course)),
        )

    public = shared(course_key(pk), load, seconds=settings.COURSES_COURSE_CACHE_SECONDS)
    return None if public == "missing" else public  # shared: callers copy what they change


def course_key(pk: int, version: int | None = None) -> str:
    """The cache key of a course's shared data; its rendered fragments add a suffix."""
    return f"courses:public:{catalog_version() if version is None else version}:{pk}"


def course_touch(pk: int) -> None:
    """Drop one course's shared data and fragments (e.g. after a new comment)."""
    from django.conf import settings as conf

    key = course_key(pk)
    keys = [key] + [f"{key}:{part}:{code}" for part in ("head", "comments") for code, _name in conf.LANGUAGES]
    cache.delete_many(keys)
    for name in keys:
        memo.discard(name)  # this process's copies too; others' expire within seconds


_COUNTERS = ("lesson_count", "enrolment_count", "completion_count", "like_count", "rating_count", "rating_avg")
_ENROLMENT_FIELDS = (
    "id", "origin", "enrolled_at", "last_studied_at", "last_lesson_id", "lessons_done", "progress_percent",
    "quiz_passed_at", "completed_at", "cadre_level_id",
)


def _personal_row(user: User, pk: int) -> dict:
    """The person's rating, like and enrolment of a course, and its live counters, in one
    plain query.

    Written as SQL because it runs on every course page and the ORM's compilation of the
    equivalent annotated query cost more than the query itself (about 10 ms).
    """
    qn = connection.ops.quote_name
    rating, like, enrolment = (qn(m._meta.db_table) for m in (Rating, Like, Enrolment))
    columns = ", ".join(f"e.{qn(Enrolment._meta.get_field(name.removesuffix('_id')).column)}" for name in _ENROLMENT_FIELDS)
    counters = ", ".join(f"c.{qn(name)}" for name in _COUNTERS)
    sql = (
        f"SELECT r.stars, r.comment, EXISTS(SELECT 1 FROM {like} l WHERE l.course_id = %s AND l.person_id = %s), "  # noqa: S608 - our table names
        f"{counters}, {columns} FROM {qn(Course._meta.db_table)} c "
        f"LEFT JOIN {rating} r ON r.course_id = c.id AND r.person_id = %s "
        f"LEFT JOIN {enrolment} e ON e.course_id = c.id AND e.person_id = %s "
        "WHERE c.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk, user.pk, user.pk, user.pk, pk])
        row = cursor.fetchone()
    if row is None:
        raise Course.DoesNotExist
    values = dict(zip(("my_stars", "my_comment", "liked", *_COUNTERS, *_ENROLMENT_FIELDS), row, strict=True))
    values["liked"] = bool(values["liked"])
    for name in ("enrolled_at", "last_studied_at", "quiz_passed_at", "completed_at"):
        values[name] = db_datetime(values[name])
    return values


def db_datetime(value):
    """A datetime column read with raw SQL, as the ORM gives it: aware (SQLite returns naive
    UTC, sometimes as text). For this app's hot paths that skip the ORM."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)


def course_detail(user: User, pk: int) -> Course:
    """A course `user` may open, with what the course page and the API show about it.

    The shared part comes from `course_public`; the person's part is read per request:
    `liked`, `my_stars`, `my_comment` and `my_enrolment` (one query), `is_required` and
    `deadline` (cached per unit and cadre level), and each lesson's `my_position` /
    `my_watched` / `my_done` in `lesson_rows` (one query, only when enrolled). Also
    `effective_points` and `comments`. Raises Course.DoesNotExist for a course outside
    the person's scope (the views answer 404).
    """
    public = course_public(pk)
    if public is None:
        raise Course.DoesNotExist
    course = copy.copy(public.course)
    owner_path = course.owner_unit.path if course.owner_unit_id else None
    if not _sees_owner(user, owner_path, status=course.status):
        raise Course.DoesNotExist
    mine = _personal_row(user, pk)
    course.liked, course.my_stars, course.my_comment = mine["liked"], mine["my_stars"], mine["my_comment"]
    for name in _COUNTERS:
        setattr(course, name, mine[name])
    deadlines = required_map(user)
    course.is_required = pk in deadlines
    course.deadline = deadlines.get(pk)
    course.effective_points = course_points(course)
    course.tag_names = public.tags
    course.my_enrolment = None
    progress = {}
    if mine["id"] is not None:
        # Read-only: built from the row above, so the page needs no extra query for it.
        course.my_enrolment = Enrolment(
            course_id=pk, person_id=user.pk, **{name: mine[name] for name in _ENROLMENT_FIELDS}
        )
        progress = {
            row[0]: row[1:]
            for row in LessonProgress.objects.filter(enrolment_id=mine["id"]).values_list(
                "lesson_id", "position_seconds", "watched_seconds", "completed_at"
            )
        }
    rows = []
    for lesson in public.lessons:
        row = copy.copy(lesson)
        row.my_position, row.my_watched, row.my_done = progress.get(lesson.pk, (None, None, None))
        rows.append(row)
    course.lesson_rows = rows
    course.comments = public.comments
    return course


def enrolment_of(user: User, course: Course) -> Enrolment | None:
    return Enrolment.objects.filter(person=user, course=course).first()


def lessons_with_progress(user: User, course: Course) -> list[Lesson]:
    """The course's lessons in order, each with `my_position`, `my_watched`, `my_done`."""
    mine = LessonProgress.objects.filter(lesson_id=OuterRef("pk"), person_id=user.pk)
    return list(
        Lesson.objects.filter(course=course)
        .annotate(
            my_position=Subquery(mine.values("position_seconds")[:1]),
            my_watched=Subquery(mine.values("watched_seconds")[:1]),
            my_done=Subquery(mine.values("completed_at")[:1]),
        )
        .order_by("position", "id")
    )


def lesson_for_player(user: User, course_id: int, lesson_id: int) -> Lesson:
    """A lesson of a course `user` may open (Lesson.DoesNotExist otherwise)."""
    return (
        Lesson.objects.select_related("course")
        .filter(course__in=courses_visible_to(user))
        .get(pk=lesson_id, course_id=course_id)
    )


def progress_of(user: User, lesson: Lesson) -> LessonProgress | None:
    return LessonProgress.objects.filter(person=user, lesson=lesson).first()


def course_comments(course: Course, limit: int = 10) -> QuerySet[Rating]:
    """Latest ratings that carry a comment (names shown: a rating is a public review)."""
    return (
        Rating.objects.filter(course=course)
        .exclude(comment="")
        .select_related("person")
        .only("stars", "comment", "updated_at", "person__name")
        .order_by("-updated_at", "-id")[:limit]
    )


# --- My courses -----------------------------------------------------------------------------------


@dataclass
class MyCourses:
    in_progress: list[Enrolment]
    completed: list[Enrolment]
    required: list[dict]  # {"course", "deadline", "enrolment", "overdue"}
    recommendations: list[Recommendation]


def my_courses(user: User, *, today: dt.date | None = None, completed_limit: int = 50) -> MyCourses:
    """What `user` is studying, has finished, must study (with deadlines), was recommended."""
    today = today or timezone.localdate()
    enrolments = Enrolment.objects.filter(person=user).select_related("course", "last_lesson")
    in_progress = list(enrolments.filter(completed_at__isnull=True).order_by("-last_studied_at", "-enrolled_at"))
    completed = list(enrolments.filter(completed_at__isnull=False).order_by("-completed_at")[:completed_limit])
    deadlines = required_deadlines(user)
    required_courses = (
        courses_visible_to(user).filter(pk__in=list(deadlines), status=Course.Status.ONLINE)
        if deadlines
        else Course.objects.none()
    )
    by_course = {e.course_id: e for e in in_progress + completed}
    missing = [c for c in deadlines if c not in by_course]
    if missing:
        by_course.update(
            {e.course_id: e for e in Enrolment.objects.filter(person=user, course_id__in=missing)}
        )
    required = []
    for course in required_courses:
        deadline = deadlines.get(course.pk)
        enrolment = by_course.get(course.pk)
        done = bool(enrolment and enrolment.completed_at)
        required.append(
            {
                "course": course,
                "deadline": deadline,
                "enrolment": enrolment,
                "done": done,
                "overdue": bool(deadline and deadline < today and not done),
            }
        )
    required.sort(key=lambda r: (r["done"], r["deadline"] or dt.date.max, r["course"].title))
    recommendations = list(
        Recommendation.objects.filter(recipient=user, course__in=courses_visible_to(user))
        .select_related("course", "sender")
        .order_by("-created_at")[:20]
    )
    return MyCourses(in_progress, completed, required, recommendations)


def continue_learning(user: User) -> Enrolment | None:
    """The course the person studied last and has not finished (for "resume")."""
    return (
        Enrolment.objects.filter(person=user, completed_at__isnull=True, course__status=Course.Status.ONLINE)
        .select_related("course", "last_lesson")
        .order_by("-last_studied_at", "-enrolled_at")
        .first()
    )


# --- Colleagues (recommend) -----------------------------------------------------------------------------


def colleagues_for(user: User) -> QuerySet[User]:
    """People `user` may recommend a course to: their view scope, or their own unit."""
    people = org_selectors.people_in_scope(user)
    if user.unit_id:
        people = User.objects.filter(Q(pk__in=people.values("pk")) | Q(unit_id=user.unit_id))
    return people.filter(is_active=True).exclude(pk=user.pk)


def search_colleagues(user: User, text: str, limit: int = 10) -> list[User]:
    text = text.strip()
    if not text:
        return []
    return list(
        colleagues_for(user)
        .filter(Q(name__icontains=text) | Q(employee_no__icontains=text))
        .select_related("unit")
        .order_by("name", "employee_no")[:limit]
    )


# --- Course learners (class teachers, admins) -----------------------------------------------------------


def course_learners(user: User, course: Course) -> QuerySet[User]:
    """People in `user`'s view scope who study the course or must, with their progress.

    Annotated with `enrolled`, `progress`, `completed_at` and `required` (subqueries and
    one CASE over the course's few audience rows: no N+1).
    """
    scope = org_selectors.scope_for(user)
    people = User.objects.active().in_units(scope.view)
    mine = Enrolment.objects.filter(course=course, person_id=OuterRef("pk"))
    required_q = Q(pk__in=[])
    for row in CourseAudience.objects.filter(course=course, kind=CourseAudience.Kind.REQUIRED).select_related("unit"):
        q = Q(pk__isnull=False)  # not Q(): OR-ing an empty Q would drop it
        if row.unit_id:
            q &= Q(unit__path__startswith=row.unit.path)
        if row.cadre_level_id:
            q &= Q(cadre_level_id=row.cadre_level_id)
        required_q |= q
    return (
        people.annotate(
            enrolled=Exists(mine),
            progress=Subquery(mine.values("progress_percent")[:1]),
            completed_at=Subquery(mine.values("completed_at")[:1]),
            required=Case(When(required_q, then=Value(True)), default=Value(False), output_field=BooleanField()),
        )
        .filter(Q(enrolled=True) | required_q)
        .select_related("unit", "cadre_level")
        .order_by("unit__path", "employee_no")
    )


# --- Dynamic management (动态管理) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def start_dt(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.start, dt.time.min))

    @property
    def end_dt(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min))


def default_period(today: dt.date | None = None) -> Period:
    today = today or timezone.localdate()
    return Period(start=today - dt.timedelta(days=89), end=today)


RANKING_ORDERS = {
    "clicks": ("-period_clicks", "-id"),
    "completions": ("-period_completions", "-id"),
    "rating": ("-rating_avg", "-rating_count", "-id"),
    "age": ("first_online_at", "id"),
    "likes": ("-like_count", "-id"),
}


def course_ranking(user: User, period: Period, *, order: str = "clicks") -> QuerySet[Course]:
    """Courses `user` may analyse with their clicks, completions and ratings in `period`.

    Each figure is one correlated subquery over an indexed table, so the whole ranking is
    one query however many courses there are.
    """
    stats = CourseDailyStat.objects.filter(
        course_id=OuterRef("pk"), day__gte=period.start, day__lte=period.end
    )
    completions = Enrolment.objects.filter(
        course_id=OuterRef("pk"), completed_at__gte=period.start_dt, completed_at__lt=period.end_dt
    )
    ratings = Rating.objects.filter(
        course_id=OuterRef("pk"), updated_at__gte=period.start_dt, updated_at__lt=period.end_dt
    )
    return (
        courses_analysed_by(user)
        .exclude(status=Course.Status.DRAFT)
        .select_related("category")
        .annotate(
            period_clicks=Coalesce(
                Subquery(stats.values("course_id").annotate(n=Sum("clicks")).values("n")[:1]),
                Value(0),
                output_field=IntegerField(),
            ),
            period_completions=Coalesce(
                Subquery(completions.values("course_id").annotate(n=Count("pk")).values("n")[:1]),
                Value(0),
                output_field=IntegerField(),
            ),
            period_ratings=Coalesce(
                Subquery(ratings.values("course_id").annotate(n=Count("pk")).values("n")[:1]),
                Value(0),
                output_field=IntegerField(),
            ),
        )
        .order_by(*RANKING_ORDERS.get(order, RANKING_ORDERS["clicks"]))
    )


@dataclass
class Candidate:
    course: Course
    reasons: list[str]


def _age_days(course: Course, today: dt.date) -> int:
    if not course.first_online_at:
        return 0
    return (today - timezone.localdate(course.first_online_at)).days


def offline_candidates(user: User, period: Period, *, limit: int = 20) -> list[Candidate]:
    """Online courses to consider taking offline: old, rarely opened, or poorly rated.

    A course qualifies when at least two of: online for more than
    COURSES_STALE_DAYS; in the bottom fifth of clicks in the period; rated below
    COURSES_LOW_RATING by at least COURSES_MIN_RATINGS people.
    """
    from django.utils.translation import gettext as _

    rows = list(course_ranking(user, period).filter(status=Course.Status.ONLINE))
    if not rows:
        return []
    clicks = sorted(c.period_clicks for c in rows)
    low_clicks = clicks[max(0, len(clicks) // 5 - 1)] if len(clicks) >= 5 else -1
    today = period.end
    found = []
    for c in rows:
        reasons = []
        age = _age_days(c, today)
        if age > settings.COURSES_STALE_DAYS:
            reasons.append(_("online for %(days)d days") % {"days": age})
        if c.period_clicks <= low_clicks:
            reasons.append(_("only %(n)d clicks in the period") % {"n": c.period_clicks})
        if c.rating_count >= settings.COURSES_MIN_RATINGS and c.rating_avg < settings.COURSES_LOW_RATING:
            reasons.append(_("rated %(avg)s by %(n)d people") % {"avg": c.rating_avg, "n": c.rating_count})
        if len(reasons) >= 2:
            found.append(Candidate(c, reasons))
    found.sort(key=lambda cand: (-len(cand.reasons), cand.course.period_clicks, cand.course.rating_avg))
    return found[:limit]


def promote_candidates(user: User, period: Period, *, limit: int = 20) -> list[Candidate]:
    """Online courses worth a push: well rated (or often completed) but opened less than most."""
    from django.utils.translation import gettext as _

    rows = list(course_ranking(user, period).filter(status=Course.Status.ONLINE))
    if not rows:
        return []
    clicks = sorted(c.period_clicks for c in rows)
    median = clicks[len(clicks) // 2]
    found = []
    for c in rows:
        reasons = []
        if c.rating_count >= settings.COURSES_MIN_RATINGS and c.rating_avg >= settings.COURSES_HIGH_RATING:
            reasons.append(_("rated %(avg)s by %(n)d people") % {"avg": c.rating_avg, "n": c.rating_count})
        if c.enrolment_count >= 5 and c.completion_count * 100 >= 60 * c.enrolment_count:
            reasons.append(
                _("%(pct)d%% of learners complete it")
                % {"pct": c.completion_count * 100 // max(1, c.enrolment_count)}
            )
        if reasons and c.period_clicks <= median:
            reasons.append(_("only %(n)d clicks in the period") % {"n": c.period_clicks})
            found.append(Candidate(c, reasons))
    found.sort(key=lambda cand: (-cand.course.rating_avg, cand.course.period_clicks))
    return found[:limit]


def lifecycle_counts(user: User, period: Period) -> list[dict]:
    """Per month of `period`: courses added (first put online) and taken offline."""
    events = (
        CourseEvent.objects.filter(
            course__in=courses_analysed_by(user), at__gte=period.start_dt, at__lt=period.end_dt
        )
        .annotate(month=TruncMonth("at"))
        .values("month")
        .annotate(
            added=Count("pk", filter=Q(action=CourseEvent.Action.ONLINE, first_time=True)),
            offline=Count("pk", filter=Q(action=CourseEvent.Action.OFFLINE)),
        )
        .order_by("month")
    )
    return [
        {"month": timezone.localtime(e["month"]).date() if isinstance(e["month"], dt.datetime) else e["month"],
         "added": e["added"], "offline": e["offline"]}
        for e in events
    ]


def level_demand(user: User, period: Period, *, top: int = 5) -> list[dict]:
    """Per cadre level: clicks, ratings (count, average), completions and most-opened courses.

    What each level actually opens and rates in `period`, so pushes can follow demand.
    """
    courses = courses_analysed_by(user)
    levels = {lv.pk: lv.name for lv in CadreLevel.objects.all()}
    stats = CourseDailyStat.objects.filter(
        course__in=courses, day__gte=period.start, day__lte=period.end
    )
    clicks = dict(stats.values_list("cadre_level_key").annotate(n=Sum("clicks")).values_list("cadre_level_key", "n"))
    rating_rows = (
        Rating.objects.filter(course__in=courses, updated_at__gte=period.start_dt, updated_at__lt=period.end_dt)
        .values("cadre_level_id")
        .annotate(n=Count("pk"), avg=Avg("stars"))
    )
    ratings = {r["cadre_level_id"] or 0: r for r in rating_rows}
    completions = dict(
        Enrolment.objects.filter(
            course__in=courses, completed_at__gte=period.start_dt, completed_at__lt=period.end_dt
        )
        .values("cadre_level_id")
        .annotate(n=Count("pk"))
        .values_list("cadre_level_id", "n")
    )
    top_rows = (
        stats.values("cadre_level_key", "course_id", "course__title")
        .annotate(n=Sum("clicks"))
        .order_by("cadre_level_key", "-n")
    )
    top_courses: dict[int, list[dict]] = {}
    for row in top_rows:
        bucket = top_courses.setdefault(row["cadre_level_key"], [])
        if len(bucket) < top:
            bucket.append({"course_id": row["course_id"], "title": row["course__title"], "clicks": row["n"]})
    result = []
    for level_id in [*levels, 0]:
        rating = ratings.get(level_id, {})
        row = {
            "cadre_level_id": level_id or None,
            "cadre_level": levels.get(level_id, ""),
            "clicks": clicks.get(level_id, 0) or 0,
            "ratings": rating.get("n", 0),
            "rating_avg": round(Decimal(rating["avg"]), 2) if rating.get("avg") is not None else None,
            "completions": completions.get(level_id or None, 0),
            "top_courses": top_courses.get(level_id, []),
        }
        if level_id or row["clicks"] or row["ratings"] or row["completions"]:
            result.append(row)
    return result


def ranking_rows(user: User, period: Period, *, order: str = "clicks") -> Iterator[list]:
    """Rows of the ranking for a CSV/XLSX export (a generator; the writer only formats)."""
    for c in course_ranking(user, period, order=order).iterator(chunk_size=500):
        yield [
            c.pk,
            c.title,
            c.category.name if c.category_id else "",
            c.get_status_display(),
            c.period_clicks,
            c.period_completions,
            c.period_ratings,
            c.rating_avg,
            c.rating_count,
            c.like_count,
            c.first_online_at,
        ]


def studying_now() -> int:
    from courses import counters

    return counters.studying_now()
