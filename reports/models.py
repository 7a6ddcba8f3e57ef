"""Report runs and scheduled deliveries.

A `ReportRun` is one request for one file: what (kind + parameters), for whom
(requested by, scope unit), and how far its build got (status, progress, error). Files
are built by a Celery worker and kept for a few days in the download centre. A
`ReportSubscription` asks for the quarterly report of a unit after every quarter.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from learning_portal.uploads import unguessable_upload_to


class ReportKind(models.TextChoices):
    # Translators: 季度单位报表
    QUARTERLY = "quarterly", _("quarterly unit report")
    # Translators: 半年情况通报 — the semi-annual briefing on units and people behind target
    BRIEFING = "briefing", _("semi-annual briefing")
    # Translators: 考勤导出 (micro-class attendance)
    ATTENDANCE = "attendance", _("attendance export")
    # Translators: 学习档案 — one person's learning record for a year (学时证明 as PDF)
    LEARNING_RECORD = "learning_record", _("learning record")
    # Translators: 批量学习档案 — a zip with the 学时证明 of everyone in a unit
    LEARNING_RECORDS = "learning_records", _("learning records (bulk)")


class ReportFormat(models.TextChoices):
    XLSX = "xlsx", "Excel (.xlsx)"
    PDF = "pdf", "PDF"
    CSV = "csv", "CSV"
    ZIP = "zip", "ZIP"


_report_path = unguessable_upload_to("reports")


def report_upload_to(instance, filename: str) -> str:
    """A module-level name for migrations. Workers name files themselves (see services);
    this only applies to a file attached some other way (e.g. the admin)."""
    return _report_path(instance, filename)


def _new_token() -> str:
    return secrets.token_urlsafe(18)


class ReportRunQuerySet(models.QuerySet):
    def active(self) -> ReportRunQuerySet:
        return self.filter(status__in=ReportRun.ACTIVE)

    def of(self, user) -> ReportRunQuerySet:
        return self.filter(requested_by=user)


class ReportRun(models.Model):
    """One report a person asked for, and the file a worker built for it.

    `parameters` are the validated, normalised inputs (unit id, year, quarter …) and
    `fingerprint` a hash of kind + parameters: while a run with the same requester and
    fingerprint is queued or running, asking again returns that run (a partial unique
    constraint makes this hold under concurrent requests too). `scope_unit` is the unit
    whose subtree the report covers (for a learning record: the person's unit); every
    download re-checks that the requester's scope still covers it.

    Builds are at-least-once: each delivery of the task claims the run with a new
    `claim` token and writes to a temporary file that is renamed into place, so a task
    redelivered after a worker died rebuilds the same file and finishes once.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("ready")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    kind = models.CharField(_("kind"), max_length=30, choices=ReportKind.choices)
    fmt = models.CharField(_("format"), max_length=10, choices=ReportFormat.choices)
    parameters = models.JSONField(_("parameters"), default=dict)
    fingerprint = models.CharField(max_length=64, editable=False)
    title = models.CharField(_("title"), max_length=200, blank=True)
    scope_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("unit"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The person a learning record is about."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="report_runs",
    )
    subscription = models.ForeignKey(
        "reports.ReportSubscription",
        verbose_name=_("subscription"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    progress_note = models.CharField(_("step"), max_length=200, blank=True)
    token = models.CharField(max_length=40, default=_new_token, editable=False, unique=True)
    claim = models.CharField(max_length=40, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    file = models.FileField(
        _("file"), upload_to=report_upload_to, max_length=300, blank=True
    )
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(_("size (bytes)"), null=True, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last progress at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    objects = ReportRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("report run")
        verbose_name_plural = _("report runs")
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "fingerprint"],
                condition=Q(status__in=["queued", "running"]),
                name="reports_one_active_run_per_request",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="reports_progress_max_100"),
        ]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"], name="reports_run_owner_idx"),
            models.Index(fields=["status", "expires_at"], name="reports_run_expiry_idx"),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.SUCCEEDED and bool(self.file)


class ReportSubscription(models.Model):
    """A standing order: build the quarterly report of `unit` after each quarter ends.

    Celery beat looks for subscriptions whose `last_period` is not the quarter that just
    ended, requests the run as the subscriber (so the subscriber's scope applies) and
    records the quarter, so each quarter is delivered once.
    """

    subscriber = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("subscriber"),
        on_delete=models.CASCADE,
        related_name="report_subscriptions",
    )
    unit = models.ForeignKey(
        "org.OrgUnit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(
        _("kind"), max_length=30, choices=ReportKind.choices, default=ReportKind.QUARTERLY
    )
    fmt = models.CharField(
        _("format"), max_length=10, choices=ReportFormat.choices, default=ReportFormat.XLSX
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_period = models.CharField(_("last delivered period"), max_length=7, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["unit__path", "id"]
        verbose_name = _("report subscription")
        verbose_name_plural = _("report subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "unit", "kind", "fmt"], name="reports_subscription_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subscriber_id} · {self.get_kind_display()} · {self.unit_id}"
