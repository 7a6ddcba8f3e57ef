"""Online courses: the catalog, lessons, who studies what, and what learners think of it.

Reading guide. A `Course` is a unit of online study made of ordered `Lesson`s (an uploaded
video, an external video link, or a PDF/PPTX document). A person who starts a course gets
an `Enrolment`; each lesson they open gets a `LessonProgress` row that the player's
heartbeats advance (never faster than real time). When every lesson is done (and the
course quiz passed, if the course has one) the enrolment is completed and the credit
ledger is asked, once, for the course's points.

`CourseAudience` rows say for whom a course is required (with a deadline) or explicitly
elective; `CoursePush` is a targeted push (重点课程推送) to an audience. `Rating`, `Like`
and `Recommendation` are the learners' voice. Counters on `Course` (likes, ratings,
completions, clicks …) are denormalised and kept by the services, so the catalog needs
no per-row counting; click/view counts arrive in batches from a cache buffer
(`courses.counters`) into `CourseDailyStat`, never as a row update per page view.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from learning_portal.uploads import unguessable_upload_to
from org.models import prefix_q

_lesson_upload_to = unguessable_upload_to("courses/lessons")


def lesson_upload_to(instance: Lesson, filename: str) -> str:
    """MEDIA_ROOT/courses/lessons/<yyyy>/<random>.<ext> (a module-level name for migrations)."""
    return _lesson_upload_to(instance, filename)


class Category(models.Model):
    """A catalog category such as 修养型 / 知识型 / 技能型 or 党性教育 / 业务知识.

    Categories are data an administrator maintains, not code; a course has at most one.
    """

    name = models.CharField(_("name"), max_length=50, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("course category")
        verbose_name_plural = _("course categories")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    """A free keyword on courses (e.g. 依法治国, 乡村振兴) used by search and filters."""

    name = models.CharField(_("name"), max_length=30, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class CourseQuerySet(models.QuerySet):
    def online(self) -> CourseQuerySet:
        return self.filter(status=Course.Status.ONLINE)

    def owned_within(self, paths: tuple[str, ...] | None) -> CourseQuerySet:
        """Courses whose owner unit lies in the subtrees `paths` (None = every course)."""
        if paths is None:
            return self
        return self.filter(prefix_q("owner_unit__path", paths))


class Course(models.Model):
    """An online course in the catalog.

    `owner_unit` is the unit that publishes it: its admins manage it and people in its
    subtree may see it; no owner unit means the whole organisation (system admins manage
    it). `points` empty means "what the credit rules give for this length". The counters
    at the end are maintained by `courses.services` (and the click flush task); they are
    what the catalog shows and sorts by.
    """

    class Source(models.TextChoices):
        # Translators: 上级引进 — courses brought in from higher-level organisations.
        IMPORTED = "imported", _("imported from above")
        # Translators: 市场购买 — bought from a course provider.
        PURCHASED = "purchased", _("purchased")
        # Translators: 本地制作 — recorded locally (meetings, lectures).
        IN_HOUSE = "in_house", _("recorded in-house")
        # Translators: 高校公开课 — open course from a university.
        OPEN_COURSE = "open_course", _("open course from a university")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        ONLINE = "online", _("online")
        OFFLINE = "offline", _("offline")

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Optional stable identifier, e.g. the provider's course number."),
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    description_html = models.TextField(
        _("description"), blank=True, help_text=_("Sanitised HTML (no scripts, no styles).")
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="courses",
        null=True,
        blank=True,
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), related_name="courses", blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    provider = models.CharField(_("provider"), max_length=100, blank=True)
    speaker = models.CharField(_("speaker"), max_length=100, blank=True)
    length_minutes = models.PositiveIntegerField(_("length (minutes)"))
    points = models.DecimalField(
        _("credit points"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: the credit rules decide from the course length (学分)."),
    )
    owner_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("owner unit"),
        on_delete=models.PROTECT,
        related_name="courses",
        null=True,
        blank=True,
        help_text=_("Its admins manage the course; its subtree sees it. Empty: everyone."),
    )
    quiz_exam_id = models.PositiveIntegerField(
        _("quiz exam"),
        null=True,
        blank=True,
        help_text=_(
            "Optional link to an exam of the evaluations app that learners must pass. "
            "Empty: completing the lessons completes the course."
        ),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    scheduled_online_at = models.DateTimeField(_("goes online at"), null=True, blank=True)
    scheduled_offline_at = models.DateTimeField(_("goes offline at"), null=True, blank=True)
    first_online_at = models.DateTimeField(
        _("first online"), null=True, blank=True, help_text=_("Age is counted from here.")
    )
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    search_text = models.TextField(
        editable=False, blank=True, help_text="Lower-cased title, speaker, provider, tags…"
    )

    # Denormalised counters, maintained by the services (never by signals).
    lesson_count = models.PositiveIntegerField(_("lessons"), default=0)
    enrolment_count = models.PositiveIntegerField(_("learners"), default=0)
    completion_count = models.PositiveIntegerField(_("completions"), default=0)
    like_count = models.PositiveIntegerField(_("likes"), default=0)
    rating_count = models.PositiveIntegerField(_("ratings"), default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    rating_avg = models.DecimalField(_("average rating"), max_digits=3, decimal_places=2, default=0)
    click_count = models.PositiveIntegerField(_("clicks"), default=0)
    view_count = models.PositiveIntegerField(_("lesson views"), default=0)

    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["-first_online_at", "-id"]
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        indexes = [
            models.Index(fields=["status", "-first_online_at"], name="course_status_age"),
            models.Index(fields=["status", "category"], name="course_status_category"),
            models.Index(fields=["scheduled_online_at"], name="course_sched_online"),
            models.Index(fields=["scheduled_offline_at"], name="course_sched_offline"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(length_minutes__gt=0), name="course_length_positive"),
            models.CheckConstraint(
                condition=Q(points__isnull=True) | Q(points__gte=0), name="course_points_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(rating_avg__gte=0) & Q(rating_avg__lte=5), name="course_rating_avg_range"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_online(self) -> bool:
        return self.status == self.Status.ONLINE

    @property
    def has_quiz(self) -> bool:
        return self.quiz_exam_id is not None


class Lesson(models.Model):
    """One lesson of a course: an uploaded video, a linked external video, or a document.

    `duration_seconds` is the video's length, or for a document the reading time a
    learner must spend on it; progress is measured against it in both cases.
    """

    class Kind(models.TextChoices):
        VIDEO = "video", _("video (uploaded)")
        EXTERNAL_VIDEO = "external", _("external video link")
        DOCUMENT = "document", _("document (PDF / PPTX)")

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="lessons"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    file = models.FileField(
        _("file"), upload_to=lesson_upload_to, blank=True, max_length=200
    )
    file_kind = models.CharField(_("file type"), max_length=10, blank=True)
    file_name = models.CharField(_("original file name"), max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(_("file size"), default=0)
    external_url = models.URLField(_("external video URL"), max_length=500, blank=True)
    duration_seconds = models.PositiveIntegerField(
        _("duration (seconds)"),
        help_text=_("Video length, or the reading time a document needs."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["course", "position", "id"]
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_seconds__gt=0), name="lesson_duration_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Enrolment(models.Model):
    """A person studying a course: started at `enrolled_at`, done at `completed_at`.

    `cadre_level` is the person's level when they enrolled (for the per-level demand of
    the dynamic management view). `credit_entry_id` is the ledger entry the completion
    produced (ids only: the ledger belongs to the credits app).
    """

    class Origin(models.TextChoices):
        SELF = "self", _("chose it")
        REQUIRED = "required", _("required")
        PUSH = "push", _("pushed course")
        RECOMMENDATION = "recommendation", _("recommended by a colleague")

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="enrolments"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="course_enrolments",
    )
    cadre_level = models.ForeignKey(
        "org.CadreLevel",
        verbose_name=_("cadre level"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    origin = models.CharField(_("origin"), max_length=20, choices=Origin.choices, default=Origin.SELF)
    enrolled_at = models.DateTimeField(_("enrolled at"), default=timezone.now)
    last_studied_at = models.DateTimeField(_("last studied"), null=True, blank=True)
    last_lesson = models.ForeignKey(
        Lesson,
        verbose_name=_("last lesson"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    lessons_done = models.PositiveIntegerField(_("lessons done"), default=0)
    progress_percent = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    quiz_passed_at = models.DateTimeField(_("quiz passed at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    credit_entry_id = models.BigIntegerField(_("credit entry"), null=True, blank=True)

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(fields=["course", "person"], name="uniq_enrolment"),
            models.CheckConstraint(
                condition=Q(progress_percent__lte=100), name="enrolment_progress_range"
            ),
        ]
        indexes = [
            models.Index(fields=["person", "completed_at"], name="enrol_person_done"),
            models.Index(fields=["course", "completed_at"], name="enrol_course_done"),
            models.Index(fields=["completed_at"], name="enrol_done"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.course_id}"

    @property
    def is_completed(self) -> bool:
        return self.completed_at is not None


class LessonProgress(models.Model):
    """How much of one lesson one person has really watched (or read), and where they are.

    `watched` is a merged list of `[start, end]` second intervals of the lesson that were
    played in real time; `watched_seconds` is their total. `position_seconds` is where to
    resume on any device. `last_heartbeat_at` (server time) and `last_client_time` are
    from the last accepted heartbeat. `accounted_until` is the wall-clock time already
    "spent" on credited playback: a heartbeat may credit at most the time since then plus a
    small tolerance, and borrowing the tolerance moves it ahead of now, so the tolerance
    cannot add up over many heartbeats. `heartbeat_count` doubles as the version for the
    optimistic update, so two tabs cannot both credit the same stretch of time.
    """

    enrolment = models.ForeignKey(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.CASCADE, related_name="progress"
    )
    lesson = models.ForeignKey(
        Lesson, verbose_name=_("lesson"), on_delete=models.CASCADE, related_name="progress"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="lesson_progress",
    )
    position_seconds = models.PositiveIntegerField(_("resume position (s)"), default=0)
    watched = models.JSONField(_("watched intervals"), default=list, blank=True)
    watched_seconds = models.PositiveIntegerField(_("watched (s)"), default=0)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    last_heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    last_client_time = models.DateTimeField(_("last client time"), null=True, blank=True)
    accounted_until = models.DateTimeField(
        _("time accounted until"),
        null=True,
        blank=True,
        help_text=_("Wall-clock time already spent on crediting playback (may run a little ahead)."),
    )
    heartbeat_count = models.PositiveIntegerField(_("heartbeats"), default=0)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("lesson progress")
        verbose_name_plural = _("lesson progress")
        constraints = [
            models.UniqueConstraint(fields=["person", "lesson"], name="uniq_lesson_progress"),
        ]
        indexes = [models.Index(fields=["enrolment"], name="progress_enrolment")]

    def __str__(self) -> str:
        return f"{self.person_id} · {self.lesson_id} · {self.watched_seconds}s"


class Rating(models.Model):
    """A person's 1–5 star rating of a course, with an optional comment; one per person."""

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="ratings"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="course_ratings",
    )
    stars = models.PositiveSmallIntegerField(_("stars"))
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    cadre_level = models.ForeignKey(
        "org.CadreLevel",
        verbose_name=_("cadre level"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The rater's level at the time (for per-level demand)."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(fields=["course", "person"], name="uniq_rating"),
            models.CheckConstraint(
                condition=Q(stars__gte=1) & Q(stars__lte=5), name="rating_stars_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course_id} · {self.stars}★"


class Like(models.Model):
    """A person's 点赞 on a course; at most one each, and it can be taken back."""

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="likes"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="course_likes",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("like")
        verbose_name_plural = _("likes")
        constraints = [models.UniqueConstraint(fields=["course", "person"], name="uniq_like")]

    def __str__(self) -> str:
        return f"{self.person_id} ♥ {self.course_id}"


class Recommendation(models.Model):
    """A person recommending a course to a colleague in their scope, with a short note."""

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="recommendations"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("from"),
        on_delete=models.CASCADE,
        related_name="course_recommendations_sent",
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to"),
        on_delete=models.CASCADE,
        related_name="course_recommendations",
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        constraints = [
            models.UniqueConstraint(
                fields=["course", "sender", "recipient"], name="uniq_recommendation"
            ),
        ]
        indexes = [models.Index(fields=["recipient", "-created_at"], name="recommendation_inbox")]

    def __str__(self) -> str:
        return f"{self.sender_id} → {self.recipient_id}: {self.course_id}"


class CourseAudience(models.Model):
    """Who a course is for: required (必修, usually with a deadline) or elective (选修).

    A row matches a person when its cadre level is empty or theirs, and its unit is empty
    or contains their unit. A course is required for a person when any required row
    matches them; for everyone else who can see it, it is elective.
    """

    class Kind(models.TextChoices):
        # Translators: 必修
        REQUIRED = "required", _("required")
        # Translators: 选修
        ELECTIVE = "elective", _("elective")

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="audiences"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("unit (with its subtree)"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    cadre_level = models.ForeignKey(
        "org.CadreLevel",
        verbose_name=_("cadre level"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["course", "kind", "id"]
        verbose_name = _("course audience")
        verbose_name_plural = _("course audiences")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="required") | Q(deadline__isnull=True),
                name="audience_deadline_only_required",
            ),
        ]
        indexes = [models.Index(fields=["kind", "cadre_level"], name="audience_kind_level")]

    def __str__(self) -> str:
        return f"{self.course_id} · {self.kind}"


class CoursePush(models.Model):
    """A targeted push (重点课程推送) of a course to an audience.

    The audience is people in any of `units` (with subtrees; none = the pusher's whole
    scope) whose cadre level is one of `cadre_levels` (none = every level). They get a
    notification when it is sent and see the course on their home page until
    `show_until`.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENT = "sent", _("sent")

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="pushes"
    )
    message = models.CharField(_("message"), max_length=500, blank=True)
    units = models.ManyToManyField(
        "org.OrgUnit", verbose_name=_("units"), blank=True, related_name="+"
    )
    cadre_levels = models.ManyToManyField(
        "org.CadreLevel", verbose_name=_("cadre levels"), blank=True, related_name="+"
    )
    show_until = models.DateField(_("show on home page until"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    recipient_count = models.PositiveIntegerField(_("recipients"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("pushed by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("course push")
        verbose_name_plural = _("course pushes")
        indexes = [models.Index(fields=["show_until"], name="push_show_until")]

    def __str__(self) -> str:
        return f"{self.course_id} · {self.created_at:%Y-%m-%d}"


class CourseEvent(models.Model):
    """A lifecycle event of a course (put online / taken offline), for the period counts."""

    class Action(models.TextChoices):
        ONLINE = "online", _("put online")
        OFFLINE = "offline", _("taken offline")

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="events"
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    first_time = models.BooleanField(
        _("first time online"), default=False, help_text=_("A newly added course.")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when a schedule did it."),
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("course event")
        verbose_name_plural = _("course events")
        indexes = [models.Index(fields=["action", "at"], name="course_event_action_at")]

    def __str__(self) -> str:
        return f"{self.course_id} {self.action} {self.at:%Y-%m-%d}"


class CourseDailyStat(models.Model):
    """Clicks (course page opens) and lesson views of a course on one day by one level.

    Written only by the buffered-counter flush (`courses.counters`), which adds to the
    numbers with an upsert. `cadre_level_key` is a CadreLevel id, 0 for "no level"
    (kept as a plain number so that the upsert key has no NULL).
    """

    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="daily_stats"
    )
    day = models.DateField(_("day"))
    cadre_level_key = models.PositiveIntegerField(_("cadre level id"), default=0)
    clicks = models.PositiveIntegerField(_("clicks"), default=0)
    views = models.PositiveIntegerField(_("lesson views"), default=0)

    class Meta:
        verbose_name = _("course daily statistic")
        verbose_name_plural = _("course daily statistics")
        constraints = [
            models.UniqueConstraint(
                fields=["course", "day", "cadre_level_key"], name="uniq_course_daily_stat"
            ),
        ]
        indexes = [models.Index(fields=["day", "course"], name="course_stat_day")]

    def __str__(self) -> str:
        return f"{self.course_id} {self.day} L{self.cadre_level_key}: {self.clicks}"


class CounterFlush(models.Model):
    """A cache bucket of clicks already written to the database (makes the flush idempotent)."""

    bucket = models.CharField(max_length=100, unique=True)
    flushed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("counter flush")
        verbose_name_plural = _("counter flushes")

    def __str__(self) -> str:
        return self.bucket

