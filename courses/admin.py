"""Django admin for operations staff. Day-to-day work happens in the portal pages.

Counters and progress are read-only here: they are kept by courses.services, and
editing them by hand would make them disagree with the rows they count.
"""

from django.contrib import admin

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

COUNTERS = [
    "lesson_count", "enrolment_count", "completion_count", "like_count", "rating_count",
    "rating_sum", "rating_avg", "click_count", "view_count",
]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "sort_order", "is_active"]
    list_editable = ["sort_order", "is_active"]
    search_fields = ["name"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class LessonInline(admin.TabularInline):
    model = Lesson
    extra = 0
    fields = ["position", "title", "kind", "duration_seconds", "file_kind", "file_name", "external_url"]
    readonly_fields = ["file_kind", "file_name"]


class AudienceInline(admin.TabularInline):
    model = CourseAudience
    extra = 0
    raw_id_fields = ["unit", "cadre_level", "created_by"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "status", "category", "source", "owner_unit", "enrolment_count", "rating_avg", "click_count"]
    list_filter = ["status", "source", "category"]
    search_fields = ["title", "code", "speaker", "provider"]
    raw_id_fields = ["owner_unit", "created_by"]
    filter_horizontal = ["tags"]
    readonly_fields = [*COUNTERS, "first_online_at", "status_changed_at", "created_at", "updated_at"]
    inlines = [LessonInline, AudienceInline]


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ["person", "course", "origin", "progress_percent", "completed_at"]
    list_filter = ["origin"]
    search_fields = ["person__employee_no", "person__name", "course__title"]
    raw_id_fields = ["person", "course", "last_lesson", "cadre_level"]
    readonly_fields = ["lessons_done", "progress_percent", "completed_at", "credit_entry_id"]


@admin.register(LessonProgress)
class LessonProgressAdmin(admin.ModelAdmin):
    list_display = ["person", "lesson", "watched_seconds", "position_seconds", "completed_at"]
    search_fields = ["person__employee_no", "lesson__title"]
    raw_id_fields = ["person", "lesson", "enrolment"]
    readonly_fields = ["watched", "watched_seconds", "last_heartbeat_at", "last_client_time", "accounted_until", "heartbeat_count"]


@admin.register(Rating)
class RatingAdmin(admin.ModelAdmin):
    list_display = ["course", "person", "stars", "updated_at"]
    list_filter = ["stars"]
    search_fields = ["course__title", "person__name", "comment"]
    raw_id_fields = ["course", "person", "cadre_level"]


@admin.register(Like)
class LikeAdmin(admin.ModelAdmin):
    list_display = ["course", "person", "created_at"]
    raw_id_fields = ["course", "person"]


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ["course", "sender", "recipient", "created_at"]
    raw_id_fields = ["course", "sender", "recipient"]


@admin.register(CoursePush)
class CoursePushAdmin(admin.ModelAdmin):
    list_display = ["course", "status", "recipient_count", "show_until", "created_at"]
    raw_id_fields = ["course", "created_by"]
    filter_horizontal = ["units", "cadre_levels"]
    readonly_fields = ["status", "recipient_count", "sent_at"]


@admin.register(CourseEvent)
class CourseEventAdmin(admin.ModelAdmin):
    list_display = ["course", "action", "first_time", "at", "actor"]
    list_filter = ["action", "first_time"]
    raw_id_fields = ["course", "actor"]


@admin.register(CourseDailyStat)
class CourseDailyStatAdmin(admin.ModelAdmin):
    list_display = ["course", "day", "cadre_level_key", "clicks", "views"]
    list_filter = ["day"]
    raw_id_fields = ["course"]
