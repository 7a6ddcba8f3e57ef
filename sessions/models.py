"""Afternoon micro-classes (下午微课堂): the two-way declaration, the plan, classes, attendance.

The programme of a unit runs in a year-long loop (see the interactive teaching method,
互动式岗位教学法): the unit publishes an annual menu of topics (年度选学菜单) and people say
what they want to learn (demand); people declare what they can teach (课程申报, supply);
the unit admin turns approved declarations into the year's teaching plan (基础教学计划) of
one or two classes a month; each class is scheduled, people check in, and closing the
class credits attendees and speakers through the credit ledger.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from learning_portal.uploads import unguessable_upload_to
from org.models import CadreLevel, OrgUnit, prefix_q


class Format(models.TextChoices):
    """How a class is taught (讲课的方式强调灵活)."""

    LECTURE = "lecture", _("lecture")
    # Translators: 师带徒 / 师徒传授
    MASTER_APPRENTICE = "master_apprentice", _("master–apprentice")
    # Translators: 沙龙 / 交心讨论
    SALON = "salon", _("salon / discussion")
    # Translators: 案例式教学
    CASE = "case", _("case study")
    # Translators: 视频演示
    VIDEO = "video", _("video demonstration")
    # Translators: 现场教学 (把课堂建到网格)
    ONSITE = "onsite", _("on-site teaching")


class Track(models.Model):
    """A series of classes, e.g. 业务专家谈业务 / 业务互帮练能力 / 业务小组谈经验."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("track")
        verbose_name_plural = _("tracks")

    def __str__(self) -> str:
        return self.name


class ProgrammeSettings(models.Model):
    """A unit's settings for its micro-class programme; units below it inherit them.

    A unit without its own row uses the nearest ancestor's row, else the LECTURES_*
    defaults of the deployment.
    """

    unit = models.OneToOneField(
        OrgUnit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="lecture_settings"
    )
    slot_start = models.TimeField(
        _("default start time"), help_text=_("Start of the default weekday afternoon slot, e.g. 16:30.")
    )
    slot_minutes = models.PositiveIntegerField(_("default length (minutes)"), default=60)
    monthly_target = models.PositiveIntegerField(
        _("classes per month"), default=1, help_text=_("The plan shows months with fewer classes.")
    )
    checkin_opens_before = models.PositiveIntegerField(_("check-in opens (minutes before)"), default=15)
    checkin_closes_after = models.PositiveIntegerField(_("check-in closes (minutes after start)"), default=20)
    late_after = models.PositiveIntegerField(_("late after (minutes after start)"), default=5)
    declaration_max_age = models.PositiveIntegerField(
        _("declaration required under age"),
        null=True,
        blank=True,
        help_text=_("Everyone younger than this declares a topic each year (e.g. 46). Empty: no rule."),
    )
    declarations_per_year = models.PositiveIntegerField(_("declarations per year"), default=1)

    class Meta:
        verbose_name = _("programme settings")
        verbose_name_plural = _("programme settings")
        constraints = [
            models.CheckConstraint(condition=Q(slot_minutes__gt=0), name="lecture_settings_slot_positive"),
        ]

    def __str__(self) -> str:
        return str(self.unit)


class Speaker(models.Model):
    """An entry of the speaker pool: a member of staff, or an invited external expert.

    `unit` is the unit whose admins look after the entry (for staff: their unit when
    they joined the pool). Only staff speakers earn lecture credits.
    """

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("member of staff"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="speaker_profile",
    )
    name = models.CharField(_("name"), max_length=50)
    organisation = models.CharField(_("organisation"), max_length=100, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True, help_text=_("Job or professional title."))
    expertise = models.CharField(_("expertise"), max_length=200, blank=True)
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("managed by unit"), on_delete=models.PROTECT, related_name="speakers"
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("speaker")
        verbose_name_plural = _("speakers")

    def __str__(self) -> str:
        return self.name if self.person_id else f"{self.name} · {self.organisation}".rstrip(" ·")

    @property
    def is_external(self) -> bool:
        return self.person_id is None


class Venue(models.Model):
    """Where classes happen: a room, the canteen, an on-site location, or online."""

    class Kind(models.TextChoices):
        ROOM = "room", _("meeting room")
        CANTEEN = "canteen", _("canteen")
        # Translators: 现场 (e.g. 一线网格的监管现场)
        ONSITE = "onsite", _("on-site location")
        ONLINE = "online", _("online")

    unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="venues")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.ROOM)
    address = models.CharField(_("address"), max_length=200, blank=True)
    capacity = models.PositiveIntegerField(_("seats"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="uniq_venue_name_per_unit")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_online(self) -> bool:
        return self.kind == self.Kind.ONLINE


# --- Two-way declaration ---------------------------------------------------------------


class Menu(models.Model):
    """A unit's annual menu of topics (年度选学菜单): what its people may choose to learn."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        CLOSED = "closed", _("closed")

    unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="lecture_menus")
    year = models.PositiveIntegerField(_("year"))
    title = models.CharField(_("title"), max_length=200)
    introduction = models.TextField(_("introduction"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-year", "unit__path"]
        verbose_name = _("annual menu")
        verbose_name_plural = _("annual menus")
        constraints = [models.UniqueConstraint(fields=["unit", "year"], name="uniq_menu_unit_year")]

    def __str__(self) -> str:
        return self.title


class MenuTopic(models.Model):
    """One topic on an annual menu, grouped by track and ability area."""

    menu = models.ForeignKey(Menu, verbose_name=_("menu"), on_delete=models.CASCADE, related_name="topics")
    track = models.ForeignKey(Track, verbose_name=_("track"), on_delete=models.PROTECT, related_name="+")
    ability_area = models.CharField(
        _("ability area"),
        max_length=50,
        blank=True,
        help_text=_("e.g. 调查研究, 公文撰写, 会监管, 会办案 …"),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("menu topic")
        verbose_name_plural = _("menu topics")

    def __str__(self) -> str:
        return self.title


class TopicChoice(models.Model):
    """A person wants to learn this topic: one unit of demand."""

    topic = models.ForeignKey(MenuTopic, verbose_name=_("topic"), on_delete=models.CASCADE, related_name="choices")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("topic choice")
        verbose_name_plural = _("topic choices")
        constraints = [models.UniqueConstraint(fields=["topic", "person"], name="uniq_topic_choice")]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.topic_id}"


class Wish(models.Model):
    """A free-text learning wish a person adds to a menu (缺什么、补什么)."""

    menu = models.ForeignKey(Menu, verbose_name=_("menu"), on_delete=models.CASCADE, related_name="wishes")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="+"
    )
    text = models.CharField(_("wish"), max_length=500)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("learning wish")
        verbose_name_plural = _("learning wishes")

    def __str__(self) -> str:
        return self.text[:50]


class Declaration(models.Model):
    """What a person offers to teach (课程申报表), reviewed by an admin of their unit.

    Regular declarations (常规式申领) are made at the start of the year and count for the
    declaration rule; ad-hoc ones (机动式申报) come during the year, e.g. a new policy to
    pass on or a new problem worth sharing.
    """

    class Kind(models.TextChoices):
        # Translators: 常规式申领
        REGULAR = "regular", _("regular (yearly)")
        # Translators: 机动式申报
        AD_HOC = "ad_hoc", _("ad hoc")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("awaiting review")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        WITHDRAWN = "withdrawn", _("withdrawn")

    declarer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("declared by"), on_delete=models.CASCADE, related_name="lecture_declarations"
    )
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The declarer's unit when it was sent; its admins review it."),
    )
    year = models.PositiveIntegerField(_("year"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.REGULAR)
    title = models.CharField(_("title"), max_length=200)
    outline = models.TextField(_("outline"))
    track = models.ForeignKey(Track, verbose_name=_("track"), on_delete=models.PROTECT, related_name="+")
    format = models.CharField(_("format"), max_length=20, choices=Format.choices, default=Format.LECTURE)
    audience_note = models.CharField(_("intended audience"), max_length=200, blank=True)
    menu_topic = models.ForeignKey(
        MenuTopic,
        verbose_name=_("answers menu topic"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="declarations",
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    review_comment = models.TextField(_("review comment"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("course declaration")
        verbose_name_plural = _("course declarations")
        indexes = [models.Index(fields=["year", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(review_comment=""),
                name="declaration_rejection_has_comment",
            ),
        ]

    def __str__(self) -> str:
        return self.title


# --- Teaching plan -------------------------------------------------------------------------


class TeachingPlan(models.Model):
    """A unit's plan for a year (基础教学计划): which topic is taught in which month."""

    unit = models.ForeignKey(OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="lecture_plans")
    year = models.PositiveIntegerField(_("year"))
    monthly_target = models.PositiveIntegerField(_("classes per month"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-year", "unit__path"]
        verbose_name = _("teaching plan")
        verbose_name_plural = _("teaching plans")
        constraints = [
            models.UniqueConstraint(fields=["unit", "year"], name="uniq_plan_unit_year"),
            models.CheckConstraint(condition=Q(monthly_target__gte=1), name="plan_target_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.year}"


class PlanItem(models.Model):
    """One planned class of a teaching plan, usually from an approved declaration."""

    plan = models.ForeignKey(TeachingPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="items")
    month = models.PositiveSmallIntegerField(_("month"))
    title = models.CharField(_("title"), max_length=200)
    track = models.ForeignKey(Track, verbose_name=_("track"), on_delete=models.PROTECT, related_name="+")
    declaration = models.OneToOneField(
        Declaration, verbose_name=_("declaration"), on_delete=models.SET_NULL, null=True, blank=True, related_name="plan_item"
    )
    speaker = models.ForeignKey(
        Speaker, verbose_name=_("speaker"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    demand = models.PositiveIntegerField(
        _("demand"), default=0, help_text=_("How many people asked for this topic when it was planned.")
    )
    session = models.OneToOneField(
        "Session", verbose_name=_("class"), on_delete=models.SET_NULL, null=True, blank=True, related_name="plan_item"
    )

    class Meta:
        ordering = ["month", "id"]
        verbose_name = _("plan item")
        verbose_name_plural = _("plan items")
        constraints = [
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="plan_item_month_range"),
        ]

    def __str__(self) -> str:
        return self.title


# --- Classes -------------------------------------------------------------------------------


class SessionQuerySet(models.QuerySet):
    def hosted_within(self, paths) -> SessionQuerySet:
        """Classes hosted by units inside the subtrees rooted at `paths` (None = all)."""
        if paths is None:
            return self
        return self.filter(prefix_q("host_unit__path", paths))

    def active(self) -> SessionQuerySet:
        return self.exclude(status=Session.Status.CANCELLED)

    def overlapping(self, start, end) -> SessionQuerySet:
        return self.filter(start__lt=end, end__gt=start)


def _new_secret() -> str:
    return secrets.token_hex(16)


class Session(models.Model):
    """One micro-class: a speaker (or several) teaches an audience at a time and place.

    Audience: `audience_open` means everyone in the host unit's subtree; otherwise people
    in the subtrees of `audience_units` and/or of the `audience_levels` (both set: both
    must hold; levels only: within the host unit's subtree). Check-in minutes are copied
    from the unit's programme settings when the class is created, so a later change of
    the settings does not move the window of classes already announced.
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        CANCELLED = "cancelled", _("cancelled")
        CLOSED = "closed", _("closed")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    track = models.ForeignKey(Track, verbose_name=_("track"), on_delete=models.PROTECT, related_name="sessions")
    format = models.CharField(_("format"), max_length=20, choices=Format.choices, default=Format.LECTURE)
    host_unit = models.ForeignKey(
        OrgUnit, verbose_name=_("host unit"), on_delete=models.PROTECT, related_name="lecture_sessions"
    )
    speakers = models.ManyToManyField(
        Speaker, verbose_name=_("speakers"), through="SessionSpeaker", related_name="sessions"
    )
    audience_open = models.BooleanField(
        _("open to the whole host unit"),
        default=True,
        help_text=_("Everyone in the host unit and the units under it may attend."),
    )
    audience_units = models.ManyToManyField(OrgUnit, verbose_name=_("audience units"), blank=True, related_name="+")
    audience_levels = models.ManyToManyField(CadreLevel, verbose_name=_("audience cadre levels"), blank=True, related_name="+")
    venue = models.ForeignKey(
        Venue, verbose_name=_("venue"), on_delete=models.PROTECT, null=True, blank=True, related_name="sessions"
    )
    location_note = models.CharField(_("location details"), max_length=200, blank=True)
    online_url = models.URLField(_("online link"), blank=True)
    start = models.DateTimeField(_("starts at"))
    end = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(
        _("capacity"), null=True, blank=True, help_text=_("Empty: no limit and no registration.")
    )
    attend_points = models.DecimalField(
        _("credits for attending"), max_digits=6, decimal_places=2, null=True, blank=True,
        help_text=_("Empty: the credit rules decide by the class length."),
    )
    lecture_points = models.DecimalField(
        _("credits for lecturing"), max_digits=6, decimal_places=2, null=True, blank=True,
        help_text=_("Empty: the credit rules decide by the class length."),
    )
    checkin_opens_before = models.PositiveIntegerField(_("check-in opens (minutes before)"), default=15)
    checkin_closes_after = models.PositiveIntegerField(_("check-in closes (minutes after start)"), default=20)
    late_after = models.PositiveIntegerField(_("late after (minutes after start)"), default=5)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=500, blank=True)
    declaration = models.ForeignKey(
        Declaration, verbose_name=_("declaration"), on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions"
    )
    checkin_secret = models.CharField(max_length=64, default=_new_secret, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["start", "id"]
        verbose_name = _("micro-class")
        verbose_name_plural = _("micro-classes")
        indexes = [models.Index(fields=["start"]), models.Index(fields=["status", "start"])]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="session_end_after_start"),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(capacity__gt=0), name="session_capacity_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def is_online(self) -> bool:
        return bool(self.venue_id and self.venue.is_online) or (not self.venue_id and bool(self.online_url))

    @property
    def checkin_opens_at(self):
        return self.start - timedelta(minutes=self.checkin_opens_before)

    @property
    def checkin_closes_at(self):
        return self.start + timedelta(minutes=self.checkin_closes_after)


class SessionSpeaker(models.Model):
    """A speaker of a class; `credit_entry_id` is the lecture credit given when it closed."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="speaker_links")
    speaker = models.ForeignKey(Speaker, on_delete=models.PROTECT, related_name="session_links")
    sort_order = models.PositiveSmallIntegerField(default=0)
    credit_entry_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("class speaker")
        verbose_name_plural = _("class speakers")
        constraints = [models.UniqueConstraint(fields=["session", "speaker"], name="uniq_session_speaker")]

    def __str__(self) -> str:
        return f"{self.session_id} · {self.speaker_id}"


class Registration(models.Model):
    """A seat taken in a class with a capacity."""

    session = models.ForeignKey(Session, verbose_name=_("class"), on_delete=models.CASCADE, related_name="registrations")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="lecture_registrations"
    )
    created_at = models.DateTimeField(_("registered at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [models.UniqueConstraint(fields=["session", "person"], name="uniq_registration")]

    def __str__(self) -> str:
        return f"{self.session_id} · {self.person_id}"


class Attendance(models.Model):
    """Whether a person attended a class, and how that was recorded.

    One row per (class, person), created by a check-in or by an admin marking. `unit` is
    the person's unit at that time (attendance is attributed where it happened). Once the
    class is closed the credit given for the row is `credit_entry_id`; a later correction
    reverses it (and `credit_round` numbers the next award's idempotency key).
    """

    class Status(models.TextChoices):
        PRESENT = "present", _("present")
        LATE = "late", _("late")
        ABSENT = "absent", _("absent")
        EXCUSED = "excused", _("excused")
        # Translators: 请假 / 公休
        ON_LEAVE = "on_leave", _("on leave")

    class Method(models.TextChoices):
        QR = "qr", _("QR code")
        CODE = "code", _("short code")
        ADMIN = "admin", _("marked by admin")

    ATTENDED = (Status.PRESENT, Status.LATE)

    session = models.ForeignKey(Session, verbose_name=_("class"), on_delete=models.CASCADE, related_name="attendance")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="lecture_attendance"
    )
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("marked by"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    credit_entry_id = models.BigIntegerField(null=True, blank=True, editable=False)
    credit_round = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["session", "id"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [models.UniqueConstraint(fields=["session", "person"], name="uniq_attendance")]
        indexes = [models.Index(fields=["person", "session"])]

    def __str__(self) -> str:
        return f"{self.person_id} · {self.session_id} · {self.status}"

    @property
    def attended(self) -> bool:
        return self.status in self.ATTENDED


class AttendanceChange(models.Model):
    """An admin's correction of an attendance row: who changed what, when and why."""

    attendance = models.ForeignKey(Attendance, on_delete=models.CASCADE, related_name="changes")
    old_status = models.CharField(_("from"), max_length=20, blank=True)
    new_status = models.CharField(_("to"), max_length=20)
    reason = models.CharField(_("reason"), max_length=500)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("attendance correction")
        verbose_name_plural = _("attendance corrections")

    def __str__(self) -> str:
        return f"{self.old_status} → {self.new_status}"


_courseware_path = unguessable_upload_to("courseware")


def courseware_upload_to(instance, filename: str) -> str:
    """A module-level name for migrations; the path itself is random (see uploads)."""
    return _courseware_path(instance, filename)


class Courseware(models.Model):
    """A file for a class (PDF, PPTX or video). After the class it is in the unit's library."""

    session = models.ForeignKey(Session, verbose_name=_("class"), on_delete=models.CASCADE, related_name="courseware")
    file = models.FileField(_("file"), upload_to=courseware_upload_to, max_length=300)
    kind = models.CharField(_("kind"), max_length=10)
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    in_library = models.BooleanField(
        _("in the teaching-materials library"), default=False,
        help_text=_("Set when the class is closed (互动式岗位教学法教材库)."),
    )

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("courseware")
        verbose_name_plural = _("courseware")

    def __str__(self) -> str:
        return self.original_name


class Reminder(models.Model):
    """A marker that a reminder of a class was sent, so it is never sent twice."""

    class Kind(models.TextChoices):
        DAY_BEFORE = "day_before", _("the day before")
        HOUR_BEFORE = "hour_before", _("an hour before")

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        constraints = [models.UniqueConstraint(fields=["session", "kind"], name="uniq_session_reminder")]

    def __str__(self) -> str:
        return f"{self.session_id} · {self.kind}"


class CalendarFeed(models.Model):
    """A person's secret iCalendar subscription address; resetting it revokes the old one."""

    person = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lecture_feed")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self) -> str:
        return str(self.person_id)
