"""Django admin for operations staff. Survey responses, answers and respondents are
deliberately absent: nobody browses who answered or what one person answered."""

from django.contrib import admin

from evaluations.models import (
    AppraisalGrade,
    Award,
    AwardType,
    Choice,
    Exam,
    Question,
    QuestionTag,
    Survey,
    SurveyTemplate,
    TemplateQuestion,
)


class TemplateQuestionInline(admin.TabularInline):
    model = TemplateQuestion
    extra = 0


@admin.register(SurveyTemplate)
class SurveyTemplateAdmin(admin.ModelAdmin):
    list_display = ["unit", "name", "updated_at"]
    inlines = [TemplateQuestionInline]
    raw_id_fields = ["unit"]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    """Counts only; the responses are not reachable from here."""

    list_display = ["session", "opens_at", "closes_at", "anonymous", "response_count", "attendee_count"]
    readonly_fields = ["session", "opens_at", "closes_at", "anonymous", "response_count", "attendee_count",
                       "reminded_at", "created_at", "min_answers"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AwardType)
class AwardTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "rule", "points", "is_active", "sort_order"]
    list_filter = ["rule", "is_active"]


@admin.register(Award)
class AwardAdmin(admin.ModelAdmin):
    """Read-only: awards are decided on the awards page, which credits points once."""

    list_display = ["award_type", "year", "person", "unit", "status", "score"]
    list_filter = ["status", "year", "award_type"]
    search_fields = ["person__name", "person__employee_no"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AppraisalGrade)
class AppraisalGradeAdmin(admin.ModelAdmin):
    list_display = ["person", "year", "grade", "imported_at"]
    list_filter = ["year", "grade"]
    raw_id_fields = ["person", "imported_by"]


admin.site.register(QuestionTag)


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "kind", "unit", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["text"]
    inlines = [ChoiceInline]
    raw_id_fields = ["unit", "created_by"]


@admin.register(Exam)
class ExamAdmin(admin.ModelAdmin):
    list_display = ["title", "unit", "opens_at", "closes_at", "status", "counts_for_awards"]
    list_filter = ["status", "counts_for_awards"]
    raw_id_fields = ["unit", "created_by"]
