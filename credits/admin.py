"""Django admin for operations staff: the ledger is read-only here too."""

from django.contrib import admin

from credits.models import (
    AwardRule,
    CreditEntry,
    CreditPolicy,
    PersonTotal,
    RankingPolicy,
    Requirement,
    SourceRule,
    UnitTotal,
)


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin):
    """Browse and search the ledger; entries are only written by credits.services."""

    list_display = ["occurred_at", "person", "source_kind", "label", "points", "created_by", "reverses"]
    list_filter = ["source_kind"]
    search_fields = ["person__employee_no", "person__name", "label", "source_ref", "idempotency_key"]
    raw_id_fields = ["person", "unit", "created_by", "reverses"]
    date_hierarchy = "occurred_at"
    list_select_related = ["person", "created_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PersonTotal, UnitTotal)
class DerivedTotalAdmin(admin.ModelAdmin):
    """Derived from the ledger (`recompute_credits` rebuilds them): read-only."""

    list_display = ["__str__", "period", "kind"]
    list_filter = ["kind", "year"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


for model in (CreditPolicy, SourceRule, AwardRule, Requirement, RankingPolicy):
    # Rules are edited on the portal's rules page, which rebuilds affected totals.
    admin.site.register(model, admin.ModelAdmin)
