"""Organisation: the unit tree, the people in it, and the rights granted on units."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet


def prefix_q(field: str, paths: Iterable[str]) -> Q:
    """OR of `field__startswith` over materialised paths; an empty list matches nothing."""
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


def ancestor_paths(path: str) -> list[str]:
    """A unit's own path and its ancestors' paths: the prefixes of its materialised path."""
    step = OrgUnit.steplen
    return [path[:i] for i in range(step, len(path) + 1, step)]


class OrgUnitQuerySet(MP_NodeQuerySet):
    def within(self, paths: Iterable[str] | None) -> OrgUnitQuerySet:
        """Units inside any of the subtrees rooted at `paths` (None = no restriction)."""
        if paths is None:
            return self
        return self.filter(prefix_q("path", paths))


class OrgUnitManager(MP_NodeManager.from_queryset(OrgUnitQuerySet)):  # type: ignore[misc]
    def get_queryset(self) -> OrgUnitQuerySet:
        return OrgUnitQuerySet(self.model, using=self._db).order_by("path")


# Labels for the usual kinds of unit; `OrgUnit.kind` is free text, shown as is otherwise.
UNIT_KIND_LABELS = {
    "city": _("city"),
    "district": _("district"),
    "county": _("county"),
    "department": _("department"),
    "bureau": _("bureau"),
    "committee": _("committee"),
    "office": _("office"),
    "township": _("township"),
    "town": _("town"),
    "street": _("sub-district"),
    "section": _("section"),
    "community": _("community"),
    "village": _("village"),
}


class OrgUnit(MP_Node):
    """A unit of the organisation: a city, district, department, township, section….

    Units form a tree of any depth stored as a materialised path (django-treebeard), so
    "everything under this unit" is one indexed prefix filter on `path`. `code` is the
    stable identifier used by imports and the API.
    """

    steplen = 4
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    node_order_by = ["sort_order", "name"]

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"),
        max_length=32,
        blank=True,
        help_text=_("Free text such as city, district, department, township, section."),
    )
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    objects = OrgUnitManager()

    class Meta:
        verbose_name = _("organisation unit")
        verbose_name_plural = _("organisation units")

    def __str__(self) -> str:
        return self.name

    @property
    def kind_label(self) -> str:
        return str(UNIT_KIND_LABELS.get(self.kind, self.kind))

    def contains(self, other: OrgUnit) -> bool:
        """True when `other` is this unit or lies in its subtree."""
        return other.path.startswith(self.path)


class CadreLevel(models.Model):
    """A cadre level (处级 / 科级 / 一般干部 …); annual credit requirements hang off it."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=50, unique=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("cadre level")
        verbose_name_plural = _("cadre levels")

    def __str__(self) -> str:
        return self.name


class UserQuerySet(models.QuerySet):
    def in_units(self, paths: Iterable[str] | None) -> UserQuerySet:
        """People whose unit lies in any of the subtrees rooted at `paths` (None = all)."""
        if paths is None:
            return self
        return self.filter(prefix_q("unit__path", paths))

    def active(self) -> UserQuerySet:
        return self.filter(is_active=True)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def create_user(self, employee_no: str, password: str | None = None, **fields):
        if not employee_no:
            raise ValueError("employee_no is required")
        user = self.model(employee_no=employee_no, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, employee_no: str, password: str | None = None, **fields):
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("name", employee_no)
        return self.create_user(employee_no, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A member of staff, who logs in with their employee number.

    `unit` is where the person works now; everything the person earns is attributed to
    the unit at the time it happened by the app that records it. A system administrator
    is a superuser; every narrower right is a `RoleGrant` on a unit.
    """

    class Gender(models.TextChoices):
        MALE = "M", _("male")
        FEMALE = "F", _("female")

    employee_no = models.CharField(_("employee number"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=50)
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="members",
        null=True,
        blank=True,
    )
    cadre_level = models.ForeignKey(
        CadreLevel,
        verbose_name=_("cadre level"),
        on_delete=models.PROTECT,
        related_name="members",
        null=True,
        blank=True,
    )
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("May log into the Django admin site (operations staff only)."),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    must_change_password = models.BooleanField(
        _("must change password"),
        default=False,
        help_text=_("Set when an admin issues a temporary password; cleared when the person sets their own."),
    )

    objects = UserManager()

    USERNAME_FIELD = "employee_no"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [models.Index(fields=["unit", "is_active"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.employee_no})"

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name

    @property
    def is_system_admin(self) -> bool:
        return self.is_superuser


class Role(models.TextChoices):
    UNIT_ADMIN = "unit_admin", _("unit admin")
    MANAGER = "manager", _("manager")
    CLASS_TEACHER = "class_teacher", _("class teacher")


class RoleGrant(models.Model):
    """A right granted to a person on a unit; it covers the unit's whole subtree.

    unit admin: manage people and programmes in the subtree; manager: read-only
    dashboards and reports for it; class teacher: follow the progress of its learners.
    """

    user = models.ForeignKey(
        User, verbose_name=_("person"), on_delete=models.CASCADE, related_name="grants"
    )
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="grants"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    granted_by = models.ForeignKey(
        User,
        verbose_name=_("granted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="uniq_role_grant"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.unit}"


class Notification(models.Model):
    """One message in a person's inbox. Sent only through `org.services.notification_send`."""

    recipient = models.ForeignKey(
        User, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=50, default="general")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Feedback(models.Model):
    """A suggestion or complaint (意见建议) sent to the admins of the author's unit."""

    class Kind(models.TextChoices):
        SUGGESTION = "suggestion", _("suggestion")
        COMPLAINT = "complaint", _("complaint")
        QUESTION = "question", _("question")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ANSWERED = "answered", _("answered")

    author = models.ForeignKey(
        User, verbose_name=_("author"), on_delete=models.CASCADE, related_name="feedback"
    )
    unit = models.ForeignKey(
        OrgUnit,
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="feedback",
        help_text=_("The author's unit when it was sent; its admins answer it."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    reply = models.TextField(_("reply"), blank=True)
    replied_by = models.ForeignKey(
        User,
        verbose_name=_("replied by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open") | (Q(replied_at__isnull=False) & ~Q(reply="")),
                name="feedback_answered_has_reply",
            ),
        ]

    def __str__(self) -> str:
        return self.subject
