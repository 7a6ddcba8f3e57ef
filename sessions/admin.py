"""Django admin for operations staff. The programme itself is run from the portal pages."""

from django.contrib import admin

from sessions.models import (
    Attendance,
    AttendanceChange,
    CalendarFeed,
    Courseware,
    Declaration,
    Menu,
    MenuTopic,
    PlanItem,
    ProgrammeSettings,
    Registration,
    Reminder,
    Session,
    SessionSpeaker,
    Speaker,
    TeachingPlan,
    Track,
    Venue,
)


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["name", "sort_order", "is_active"]


@admin.register(ProgrammeSettings)
class ProgrammeSettingsAdmin(admin.ModelAdmin):
    list_display = ["unit", "slot_start", "slot_minutes", "monthly_target", "declaration_max_age"]
    raw_id_fields = ["unit"]


@admin.register(Speaker)
class SpeakerAdmin(admin.ModelAdmin):
    list_display = ["name", "organisation", "title", "unit", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "organisation", "expertise", "person__employee_no"]
    raw_id_fields = ["person", "unit"]


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "unit", "capacity", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "address"]
    raw_id_fields = ["unit"]


class MenuTopicInline(admin.TabularInline):
    model = MenuTopic
    extra = 0


@admin.register(Menu)
class MenuAdmin(admin.ModelAdmin):
    list_display = ["title", "unit", "year", "status"]
    list_filter = ["year", "status"]
    raw_id_fields = ["unit", "created_by"]
    inlines = [MenuTopicInline]


@admin.register(Declaration)
class DeclarationAdmin(admin.ModelAdmin):
    list_display = ["title", "declarer", "unit", "year", "kind", "status"]
    list_filter = ["year", "kind", "status", "track"]
    search_fields = ["title", "declarer__name", "declarer__employee_no"]
    raw_id_fields = ["declarer", "unit", "reviewed_by", "menu_topic"]


class PlanItemInline(admin.TabularInline):
    model = PlanItem
    extra = 0
    raw_id_fields = ["declaration", "speaker", "session"]


@admin.register(TeachingPlan)
class TeachingPlanAdmin(admin.ModelAdmin):
    list_display = ["unit", "year", "monthly_target"]
    raw_id_fields = ["unit", "created_by"]
    inlines = [PlanItemInline]


class SessionSpeakerInline(admin.TabularInline):
    model = SessionSpeaker
    extra = 0
    raw_id_fields = ["speaker"]
    readonly_fields = ["credit_entry_id"]


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["title", "host_unit", "start", "status"]
    list_filter = ["status", "track"]
    search_fields = ["title"]
    date_hierarchy = "start"
    raw_id_fields = ["host_unit", "venue", "declaration", "created_by", "closed_by"]
    filter_horizontal = ["audience_levels"]
    autocomplete_fields: list[str] = []
    inlines = [SessionSpeakerInline]


@admin.register(Attendance)
class AttendanceAdmin(admin.ModelAdmin):
    """Read-mostly: corrections go through the portal so credits follow the ledger."""

    list_display = ["session", "person", "status", "method", "checked_in_at"]
    list_filter = ["status", "method"]
    search_fields = ["person__employee_no", "person__name", "session__title"]
    raw_id_fields = ["session", "person", "unit", "marked_by"]
    readonly_fields = ["credit_entry_id", "credit_round"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AttendanceChange)
class AttendanceChangeAdmin(admin.ModelAdmin):
    list_display = ["attendance", "old_status", "new_status", "actor", "created_at"]
    raw_id_fields = ["attendance", "actor"]


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ["session", "person", "created_at"]
    raw_id_fields = ["session", "person"]


@admin.register(Courseware)
class CoursewareAdmin(admin.ModelAdmin):
    list_display = ["original_name", "session", "kind", "size", "in_library"]
    raw_id_fields = ["session", "uploaded_by"]


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["session", "kind", "sent_at", "recipients"]
    raw_id_fields = ["session"]


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    list_display = ["person", "created_at"]
    raw_id_fields = ["person"]
    exclude = ["token"]
