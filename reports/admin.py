"""Operators' view of report runs and subscriptions (read-mostly: runs are built by workers)."""

from django.contrib import admin

from reports.models import ReportRun, ReportSubscription


@admin.register(ReportRun)
class ReportRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "fmt", "title", "requested_by", "status", "progress", "attempts", "created_at",
                    "finished_at", "expires_at"]
    list_filter = ["kind", "status", "fmt"]
    search_fields = ["title", "requested_by__employee_no", "requested_by__name"]
    list_select_related = ["requested_by"]
    readonly_fields = [f.name for f in ReportRun._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["id", "subscriber", "unit", "kind", "fmt", "is_active", "last_period", "created_at"]
    list_filter = ["kind", "is_active"]
    list_select_related = ["subscriber", "unit"]
    raw_id_fields = ["subscriber", "unit"]
