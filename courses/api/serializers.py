"""Serializers of the courses API: outputs describe rows, inputs describe commands.

Outputs only read what the selectors prepared (annotations, catalog rows), so lists run
no query per row. Inputs refuse unknown fields and check shapes only; every rule lives in
`courses.services`. Numbers that matter (stars, positions) must arrive as JSON numbers:
"5" is refused rather than guessed at.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from courses.models import (
    Category,
    Course,
    CourseAudience,
    CoursePush,
    Enrolment,
    Lesson,
    Rating,
    Recommendation,
)
from learning_portal.api import StrictInputSerializer

# --- Strict fields ------------------------------------------------------------------------------------


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: no strings, booleans or fractions."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictNumberField(serializers.FloatField):
    """A JSON number only (integer or fraction): no strings or booleans."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- Catalog ------------------------------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "description", "sort_order", "is_active"]


class CategoryInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=50, help_text=_("e.g. 修养型, 知识型, 技能型, 党性教育"))
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    sort_order = StrictIntegerField(min_value=0, required=False, default=0)
    is_active = serializers.BooleanField(required=False, default=True)


class CatalogQuerySerializer(StrictInputSerializer):
    """Query parameters of the catalog list."""

    q = serializers.CharField(required=False, allow_blank=True, max_length=100, default="",
                              help_text=_("Words to find in title, summary, speaker, provider, category or tags."))
    category = serializers.IntegerField(required=False, min_value=1, help_text=_("Category id."))
    tag = serializers.CharField(required=False, allow_blank=True, max_length=30, default="")
    source = serializers.ChoiceField(choices=Course.Source.choices, required=False, allow_blank=True, default="")
    speaker = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    required = serializers.ChoiceField(
        choices=[("required", _("required")), ("elective", _("elective"))], required=False, allow_blank=True, default="",
        help_text=_("required: courses required of you; elective: all others."),
    )
    min_minutes = serializers.IntegerField(required=False, min_value=0)
    max_minutes = serializers.IntegerField(required=False, min_value=0)
    min_rating = serializers.DecimalField(required=False, max_digits=3, decimal_places=2, min_value=0, max_value=5)
    ordering = serializers.ChoiceField(
        choices=["new", "popular", "rating", "likes", "learners", "short"], required=False, default="new"
    )
    page = serializers.IntegerField(required=False, min_value=1, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, default=24)


class CatalogRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    summary = serializers.CharField()
    category = serializers.CharField(help_text=_("Category name (empty when none)."))
    tags = serializers.ListField(child=serializers.CharField())
    source = serializers.CharField()
    source_label = serializers.CharField()
    provider = serializers.CharField()
    speaker = serializers.CharField()
    length_minutes = serializers.IntegerField()
    points = serializers.DecimalField(max_digits=6, decimal_places=2)
    rating_avg = serializers.DecimalField(max_digits=3, decimal_places=2)
    rating_count = serializers.IntegerField()
    like_count = serializers.IntegerField()
    enrolment_count = serializers.IntegerField()
    lesson_count = serializers.IntegerField()
    is_required = serializers.BooleanField(help_text=_("Required of you (必修)."))
    deadline = serializers.DateField(allow_null=True)
    first_online_at = serializers.DateTimeField(allow_null=True)
    progress = serializers.IntegerField(allow_null=True, help_text=_("Your progress in %, null if not started."))
    completed = serializers.BooleanField()


class LessonSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField(help_text=_("Where to fetch the file (checked per request)."))
    my_position = serializers.IntegerField(read_only=True, allow_null=True, help_text=_("Resume position (s)."))
    my_watched = serializers.IntegerField(read_only=True, allow_null=True, help_text=_("Seconds really watched."))
    my_done = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Lesson
        fields = [
            "id", "position", "title", "kind", "file_kind", "file_name", "file_size", "external_url",
            "duration_seconds", "file_url", "my_position", "my_watched", "my_done",
        ]

    def get_file_url(self, lesson: Lesson) -> str | None:
        if not lesson.file:
            return None
        return reverse("courses:lesson_file", args=[lesson.course_id, lesson.pk])


class EnrolmentSerializer(serializers.ModelSerializer):
    course_title = serializers.CharField(source="course.title", read_only=True)

    class Meta:
        model = Enrolment
        fields = [
            "id", "course", "course_title", "origin", "enrolled_at", "last_studied_at", "last_lesson",
            "lessons_done", "progress_percent", "quiz_passed_at", "completed_at",
        ]


class CourseDetailSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", default="", read_only=True)
    owner_unit_name = serializers.CharField(source="owner_unit.name", default="", read_only=True)
    tags = serializers.SerializerMethodField()
    points = serializers.SerializerMethodField()
    is_required = serializers.BooleanField(read_only=True)
    deadline = serializers.DateField(read_only=True, allow_null=True)
    liked = serializers.BooleanField(read_only=True)
    my_stars = serializers.IntegerField(read_only=True, allow_null=True)
    my_comment = serializers.CharField(read_only=True, allow_null=True)
    lessons = serializers.SerializerMethodField()
    enrolment = serializers.SerializerMethodField()

    class Meta:
        model = Course
        fields = [
            "id", "code", "title", "summary", "description_html", "category", "category_name", "tags",
            "source", "provider", "speaker", "length_minutes", "points", "owner_unit", "owner_unit_name",
            "quiz_exam_id", "status", "first_online_at", "lesson_count", "enrolment_count",
            "completion_count", "like_count", "rating_count", "rating_avg", "click_count",
            "is_required", "deadline", "liked", "my_stars", "my_comment", "lessons", "enrolment",
        ]

    def get_tags(self, course: Course) -> list[str]:
        return list(course.tag_names)

    def get_points(self, course: Course) -> str:
        return str(course.effective_points)

    def get_lessons(self, course: Course) -> list[dict]:
        return LessonSerializer(course.lesson_rows, many=True).data

    def get_enrolment(self, course: Course) -> dict | None:
        return EnrolmentSerializer(course.my_enrolment).data if course.my_enrolment else None


class RecommendationSerializer(serializers.ModelSerializer):
    course_title = serializers.CharField(source="course.title", read_only=True)
    sender_name = serializers.CharField(source="sender.name", read_only=True)

    class Meta:
        model = Recommendation
        fields = ["id", "course", "course_title", "sender_name", "note", "created_at"]


class RequiredCourseSerializer(serializers.Serializer):
    course = serializers.IntegerField(source="course.pk")
    course_title = serializers.CharField(source="course.title")
    deadline = serializers.DateField(allow_null=True)
    progress_percent = serializers.IntegerField(source="enrolment.progress_percent", default=None, allow_null=True)
    done = serializers.BooleanField()
    overdue = serializers.BooleanField()


class MyCoursesSerializer(serializers.Serializer):
    in_progress = EnrolmentSerializer(many=True)
    completed = EnrolmentSerializer(many=True)
    required = RequiredCourseSerializer(many=True)
    recommendations = RecommendationSerializer(many=True)


class RatingSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)

    class Meta:
        model = Rating
        fields = ["id", "stars", "comment", "person_name", "updated_at"]


# --- Learner commands ---------------------------------------------------------------------------------------


STARS_MESSAGE = _("A rating is a whole number of stars from 1 to 5, sent as a number (e.g. 4).")


class RateInputSerializer(StrictInputSerializer):
    stars = StrictIntegerField(
        help_text=_("1 to 5, a JSON integer."),
        error_messages={"invalid": STARS_MESSAGE, "null": STARS_MESSAGE, "required": STARS_MESSAGE},
    )
    comment = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class RecommendInputSerializer(StrictInputSerializer):
    recipients = serializers.ListField(
        child=StrictIntegerField(min_value=1), min_length=1, max_length=50,
        help_text=_("Ids of colleagues in your unit or scope."),
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class HeartbeatInputSerializer(StrictInputSerializer):
    position = StrictNumberField(
        min_value=0, help_text=_("Where playback is now, in seconds from the start of the lesson."),
        error_messages={"invalid": _("The position is a number of seconds, 0 or more.")},
    )
    client_time = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text=_("The player's clock when it sent this heartbeat (ISO 8601 with time zone)."),
    )


class HeartbeatOutputSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    watched_seconds = serializers.IntegerField()
    duration = serializers.IntegerField()
    percent = serializers.IntegerField()
    credited = serializers.IntegerField(help_text=_("Seconds this heartbeat added."))
    lesson_done = serializers.BooleanField()
    course_completed = serializers.BooleanField()


class LessonStartOutputSerializer(serializers.Serializer):
    lesson = serializers.IntegerField(source="lesson_id")
    position_seconds = serializers.IntegerField(help_text=_("Resume here."))
    watched_seconds = serializers.IntegerField()
    completed_at = serializers.DateTimeField(allow_null=True)
    heartbeat_seconds = serializers.IntegerField(help_text=_("Send a heartbeat this often while playing."))
    heartbeat_url = serializers.CharField(help_text=_("Where the player posts heartbeats (no cookies needed)."))
    heartbeat_token = serializers.CharField(
        help_text=_("Send as the X-Heartbeat-Token header with every heartbeat to heartbeat_url.")
    )


# --- Management ---------------------------------------------------------------------------------------------


class CourseInputSerializer(StrictInputSerializer):
    title = serializers.CharField(max_length=200)
    source = serializers.ChoiceField(choices=Course.Source.choices)
    length_minutes = StrictIntegerField(min_value=1, max_value=6000)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    description_html = serializers.CharField(required=False, allow_blank=True, default="",
                                             help_text=_("HTML; scripts and event handlers are refused."))
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all(), required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=30), required=False, default=list, max_length=10)
    provider = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    speaker = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    points = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, allow_null=True, min_value=0,
                                      help_text=_("Empty: from the credit rules by length."))
    owner_unit = serializers.IntegerField(required=False, allow_null=True, help_text=_("Unit id; empty: everyone."))
    quiz_exam_id = StrictIntegerField(required=False, allow_null=True, min_value=1)
    code = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class ManageCourseSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", default="", read_only=True)
    owner_unit_name = serializers.CharField(source="owner_unit.name", default="", read_only=True)
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Course
        fields = [
            "id", "code", "title", "summary", "description_html", "category", "category_name", "tags", "source",
            "provider", "speaker", "length_minutes", "points", "owner_unit", "owner_unit_name", "quiz_exam_id",
            "status", "scheduled_online_at", "scheduled_offline_at", "first_online_at", "status_changed_at",
            "lesson_count", "enrolment_count", "completion_count", "like_count", "rating_count", "rating_avg",
            "click_count", "view_count", "created_at", "updated_at",
        ]

    def get_tags(self, course: Course) -> list[str]:
        return [t.name for t in course.tags.all()]


class LessonInputSerializer(StrictInputSerializer):
    """Multipart form: `file` for video/document lessons, `external_url` for links."""

    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Lesson.Kind.choices)
    duration_seconds = serializers.IntegerField(min_value=1, max_value=86400)
    file = serializers.FileField(required=False, allow_null=True, allow_empty_file=True)
    external_url = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def to_internal_value(self, data: Any) -> Any:
        # Multipart bodies arrive as a QueryDict; judge its keys like a JSON object's.
        if hasattr(data, "dict"):
            files = {k: v for k, v in data.items() if hasattr(v, "read")}
            data = {**data.dict(), **files}
        return super().to_internal_value(data)


class StatusInputSerializer(StrictInputSerializer):
    action = serializers.ChoiceField(choices=[("online", _("put online")), ("offline", _("take offline"))])
    courses = serializers.ListField(child=StrictIntegerField(min_value=1), min_length=1, max_length=500)
    at = serializers.DateTimeField(required=False, allow_null=True,
                                   help_text=_("Schedule for this time; empty: now."))


class AudienceSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", default="", read_only=True)
    cadre_level_name = serializers.CharField(source="cadre_level.name", default="", read_only=True)

    class Meta:
        model = CourseAudience
        fields = ["id", "course", "kind", "unit", "unit_name", "cadre_level", "cadre_level_name", "deadline", "created_at"]


class AudienceInputSerializer(StrictInputSerializer):
    kind = serializers.ChoiceField(choices=CourseAudience.Kind.choices)
    unit = serializers.IntegerField(required=False, allow_null=True, help_text=_("Unit id (with its subtree)."))
    cadre_level = serializers.IntegerField(required=False, allow_null=True, help_text=_("Cadre level id."))
    deadline = serializers.DateField(required=False, allow_null=True)


class PushSerializer(serializers.ModelSerializer):
    course_title = serializers.CharField(source="course.title", read_only=True)

    class Meta:
        model = CoursePush
        fields = ["id", "course", "course_title", "message", "show_until", "status", "recipient_count", "created_at", "sent_at"]


class PushInputSerializer(StrictInputSerializer):
    message = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    units = serializers.ListField(child=StrictIntegerField(min_value=1), required=False, default=list, max_length=200)
    cadre_levels = serializers.ListField(child=StrictIntegerField(min_value=1), required=False, default=list, max_length=50)
    show_until = serializers.DateField(required=False, allow_null=True)


class LearnerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    employee_no = serializers.CharField()
    name = serializers.CharField()
    unit_name = serializers.CharField(source="unit.name", default="")
    cadre_level = serializers.CharField(source="cadre_level.name", default="")
    enrolled = serializers.BooleanField()
    required = serializers.BooleanField()
    progress = serializers.IntegerField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)


class DynamicQuerySerializer(StrictInputSerializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    order = serializers.ChoiceField(choices=["clicks", "completions", "rating", "age", "likes"], required=False, default="clicks")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=50)

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and start > end:
            raise serializers.ValidationError({"start": [_("The start date is after the end date.")]})
        if start and end and (end - start).days > 3660:
            raise serializers.ValidationError({"start": [_("A period is at most ten years.")]})
        return attrs


class RankedCourseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    category = serializers.CharField(source="category.name", default="")
    status = serializers.CharField()
    first_online_at = serializers.DateTimeField(allow_null=True)
    period_clicks = serializers.IntegerField()
    period_completions = serializers.IntegerField()
    period_ratings = serializers.IntegerField()
    rating_avg = serializers.DecimalField(max_digits=3, decimal_places=2)
    rating_count = serializers.IntegerField()
    like_count = serializers.IntegerField()
    click_count = serializers.IntegerField()


class CandidateSerializer(serializers.Serializer):
    course = RankedCourseSerializer()
    reasons = serializers.ListField(child=serializers.CharField())
