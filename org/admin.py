"""Django admin for operations staff. Day-to-day work happens in the portal pages."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from org.models import CadreLevel, Feedback, Notification, OrgUnit, RoleGrant, User


@admin.register(OrgUnit)
class OrgUnitAdmin(TreeAdmin):
    form = movenodeform_factory(OrgUnit)
    list_display = ["name", "code", "kind", "is_active"]
    search_fields = ["name", "code"]


@admin.register(CadreLevel)
class CadreLevelAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "sort_order"]


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    fk_name = "user"
    extra = 0
    raw_id_fields = ["unit", "granted_by"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["employee_no"]
    list_display = ["employee_no", "name", "unit", "cadre_level", "is_active", "is_superuser"]
    list_filter = ["is_active", "is_superuser", "cadre_level"]
    search_fields = ["employee_no", "name", "phone", "email"]
    raw_id_fields = ["unit"]
    inlines = [RoleGrantInline]
    fieldsets = [
        (None, {"fields": ["employee_no", "password"]}),
        (_("Personal info"), {"fields": ["name", "gender", "birth_date", "phone", "email"]}),
        (_("Organisation"), {"fields": ["unit", "cadre_level"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser"]}),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["employee_no", "name", "unit", "password1", "password2"]}),
    ]
    filter_horizontal = []


@admin.register(RoleGrant)
class RoleGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "unit", "created_at"]
    list_filter = ["role"]
    raw_id_fields = ["user", "unit", "granted_by"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["recipient", "title", "kind", "created_at", "read_at"]
    raw_id_fields = ["recipient"]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["subject", "kind", "author", "unit", "status", "created_at"]
    list_filter = ["status", "kind"]
    raw_id_fields = ["author", "unit", "replied_by"]
