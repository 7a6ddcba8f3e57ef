"""Input and output shapes of the reports API."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from learning_portal.api import StrictInputSerializer
from reports.models import ReportFormat, ReportKind, ReportRun, ReportSubscription


class RunCreateSerializer(StrictInputSerializer):
    """Which report to build; which inputs apply depends on `kind` (others are refused)."""

    kind = serializers.ChoiceField(choices=ReportKind.choices, help_text=_("The report to build."))
    format = serializers.ChoiceField(
        choices=ReportFormat.choices, required=False,
        help_text=_("quarterly/briefing: xlsx or pdf; attendance: xlsx or csv; learning_record: pdf "
                    "(学时证明) or xlsx; learning_records: zip. Default: the first of these."),
    )
    unit = serializers.IntegerField(required=False, help_text=_("Unit whose subtree the report covers."))
    year = serializers.IntegerField(required=False)
    quarter = serializers.IntegerField(required=False, help_text=_("1–4 (quarterly report)."))
    half = serializers.IntegerField(required=False, help_text=_("1 or 2 (semi-annual briefing)."))
    date_from = serializers.DateField(required=False, help_text=_("First day (attendance export)."))
    date_to = serializers.DateField(required=False, help_text=_("Last day, inclusive (attendance export)."))
    person = serializers.IntegerField(
        required=False, help_text=_("Whose learning record; default: yourself.")
    )


class RunSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    format = serializers.CharField(source="fmt", read_only=True)
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(
        help_text="Where to fetch the file once the run is ready (checked against your scope every time)."
    )

    class Meta:
        model = ReportRun
        fields = [
            "id", "kind", "kind_label", "format", "title", "parameters", "status", "status_label",
            "progress", "progress_note", "error", "attempts", "row_count", "file_size", "created_at",
            "started_at", "finished_at", "expires_at", "url", "download_url",
        ]
        read_only_fields = fields

    def get_url(self, run: ReportRun) -> str:
        return reverse("reports-api:run-detail", args=[run.pk])

    def get_download_url(self, run: ReportRun) -> str | None:
        return reverse("reports-api:run-download", args=[run.pk]) if run.is_ready else None


class SubscriptionCreateSerializer(StrictInputSerializer):
    unit = serializers.IntegerField(help_text=_("Unit whose quarterly report you want after each quarter."))
    format = serializers.ChoiceField(
        choices=[(ReportFormat.XLSX, "xlsx"), (ReportFormat.PDF, "pdf")], required=False, default=ReportFormat.XLSX
    )


class SubscriptionSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    format = serializers.CharField(source="fmt", read_only=True)

    class Meta:
        model = ReportSubscription
        fields = ["id", "kind", "unit", "unit_name", "format", "is_active", "last_period", "created_at"]
        read_only_fields = fields


class DashboardSerializer(serializers.Serializer):
    summary = serializers.DictField(help_text="The headline figures; the quarterly report's summary sheet says the same.")
    labels = serializers.DictField()
    sources = serializers.ListField(child=serializers.DictField())
    units = serializers.ListField(child=serializers.DictField())
    months = serializers.ListField(child=serializers.DictField())
    on_track = serializers.DictField()
