"""Input and output shapes of the evaluations API. Inputs refuse unknown fields; logic lives
in the services. No output of a survey names a person, and no output of an attempt in
progress says which option is right."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from evaluations.models import (
    AppraisalGrade,
    Attempt,
    Award,
    AwardRule,
    AwardType,
    Exam,
    ParticipationRating,
    Question,
    QuestionTag,
    Survey,
    SurveyTemplate,
)
from learning_portal.api import StrictInputSerializer
from org.models import OrgUnit, User
from sessions.models import Session

# --- Surveys -----------------------------------------------------------------------------------


class PendingSurveySerializer(serializers.Serializer):
    session = serializers.IntegerField(source="session.pk")
    title = serializers.CharField(source="session.title")
    start = serializers.DateTimeField(source="session.start")
    closes_at = serializers.DateTimeField()


class SurveyQuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    is_overall = serializers.BooleanField()


class SurveyFormSerializer(serializers.Serializer):
    """What an attendee needs to fill in the survey (nothing about other answers)."""

    session = serializers.IntegerField(source="session_id")
    title = serializers.CharField(source="session.title")
    closes_at = serializers.DateTimeField()
    anonymous = serializers.BooleanField()
    scale = serializers.SerializerMethodField()
    questions = SurveyQuestionSerializer(many=True, source="questions.all")

    def get_scale(self, obj) -> list[dict]:
        from evaluations.selectors import LIKERT_LABELS

        return [{"value": v, "label": str(label)} for v, label in LIKERT_LABELS.items()]


class SurveyAnswerInput(StrictInputSerializer):
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text=_("{question id: value from 1 (very dissatisfied) to 5 (very satisfied)} for every question."),
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class SurveySerializer(serializers.ModelSerializer):
    """A survey as its lecturers and admins see it in a list: counts, never people."""

    session_title = serializers.CharField(source="session.title", read_only=True)
    session_start = serializers.DateTimeField(source="session.start", read_only=True)
    host_unit = serializers.IntegerField(source="session.host_unit_id", read_only=True)
    host_unit_name = serializers.CharField(source="session.host_unit.name", read_only=True)
    has_results = serializers.SerializerMethodField()

    class Meta:
        model = Survey
        fields = ["id", "session", "session_title", "session_start", "host_unit", "host_unit_name", "opens_at",
                  "closes_at", "anonymous", "min_answers", "response_count", "attendee_count", "has_results"]

    def get_has_results(self, obj: Survey) -> bool:
        return obj.has_results()


class QuestionResultSerializer(serializers.Serializer):
    question = serializers.IntegerField(source="question_id")
    text = serializers.CharField()
    is_overall = serializers.BooleanField()
    answers = serializers.IntegerField()
    average = serializers.DecimalField(max_digits=4, decimal_places=2, allow_null=True)
    distribution = serializers.SerializerMethodField()

    def get_distribution(self, obj) -> dict[str, int]:
        return {str(v): obj.distribution.get(v, 0) for v in range(1, 6)}


class SurveyResultsSerializer(serializers.Serializer):
    session = serializers.IntegerField(source="survey.session_id")
    available = serializers.BooleanField()
    reason = serializers.CharField()
    attendees = serializers.IntegerField()
    responses = serializers.IntegerField()
    response_rate = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    satisfaction_rate = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    questions = QuestionResultSerializer(many=True)
    comments = serializers.ListField(child=serializers.CharField())


class AnonymityInput(StrictInputSerializer):
    anonymous = serializers.BooleanField()


class TemplateQuestionInput(StrictInputSerializer):
    text = serializers.CharField(max_length=200)
    is_overall = serializers.BooleanField(default=False)


class SurveyTemplateInput(StrictInputSerializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all())
    name = serializers.CharField(max_length=100)
    questions = TemplateQuestionInput(many=True)


class SurveyTemplateSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    questions = serializers.SerializerMethodField()

    class Meta:
        model = SurveyTemplate
        fields = ["id", "unit", "unit_name", "name", "updated_at", "questions"]

    def get_questions(self, obj) -> list[dict]:
        return [{"text": q.text, "is_overall": q.is_overall} for q in obj.questions.all()]


class LecturerYearSerializer(serializers.Serializer):
    person = serializers.IntegerField(source="person_id")
    name = serializers.CharField(source="person.name", default="")
    employee_no = serializers.CharField(source="person.employee_no", default="")
    year = serializers.IntegerField()
    classes_given = serializers.IntegerField()
    classes_rated = serializers.IntegerField()
    overall_answers = serializers.IntegerField()
    satisfaction_rate = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    average_overall = serializers.DecimalField(max_digits=4, decimal_places=2, allow_null=True)
    attendance = serializers.IntegerField()


# --- Participation ratings ---------------------------------------------------------------------


class ParticipationRatingSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)
    session_title = serializers.CharField(source="session.title", read_only=True)

    class Meta:
        model = ParticipationRating
        fields = ["id", "session", "session_title", "person", "person_name", "rater", "score", "note", "updated_at"]


class ParticipationInput(StrictInputSerializer):
    session = serializers.PrimaryKeyRelatedField(queryset=Session.objects.all())
    person = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    score = serializers.IntegerField(help_text=_("1 (took little part) to 5 (took a full part)."))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


# --- Awards ------------------------------------------------------------------------------------


class AwardTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = AwardType
        fields = ["id", "code", "name", "description", "rule", "for_lecturers", "points", "min_satisfaction",
                  "min_classes", "consecutive_years", "weight_participation", "weight_exams", "weight_appraisal",
                  "min_score", "is_active", "sort_order"]


class AwardTypeInput(StrictInputSerializer):
    code = serializers.CharField(max_length=50, required=False)
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    rule = serializers.ChoiceField(choices=AwardRule.choices, required=False)
    for_lecturers = serializers.BooleanField(required=False)
    points = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, allow_null=True)
    min_satisfaction = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    min_classes = serializers.IntegerField(required=False)
    consecutive_years = serializers.IntegerField(required=False)
    weight_participation = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    weight_exams = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    weight_appraisal = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    min_score = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    is_active = serializers.BooleanField(required=False)
    sort_order = serializers.IntegerField(required=False)


class AwardSerializer(serializers.ModelSerializer):
    award_name = serializers.CharField(source="award_type.name", read_only=True)
    award_code = serializers.CharField(source="award_type.code", read_only=True)
    person_name = serializers.CharField(source="person.name", read_only=True)
    employee_no = serializers.CharField(source="person.employee_no", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    session_title = serializers.CharField(source="session.title", default=None, read_only=True)

    class Meta:
        model = Award
        fields = ["id", "award_type", "award_code", "award_name", "year", "person", "person_name", "employee_no",
                  "unit", "unit_name", "session", "session_title", "score", "basis", "computed", "status",
                  "citation", "nominated_at", "decided_at"]


class HonourSerializer(serializers.ModelSerializer):
    """A winner on the honours board: no scores, no rejected or pending nominations."""

    award_name = serializers.CharField(source="award_type.name", read_only=True)
    person_name = serializers.CharField(source="person.name", read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    session_title = serializers.CharField(source="session.title", default=None, read_only=True)

    class Meta:
        model = Award
        fields = ["id", "award_type", "award_name", "year", "person", "person_name", "unit", "unit_name",
                  "session", "session_title", "citation", "decided_at"]


class NominateInput(StrictInputSerializer):
    award_type = serializers.PrimaryKeyRelatedField(queryset=AwardType.objects.all())
    year = serializers.IntegerField()
    person = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    session = serializers.PrimaryKeyRelatedField(queryset=Session.objects.all(), required=False, allow_null=True)
    basis = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class CitationInput(StrictInputSerializer):
    citation = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ReasonInput(StrictInputSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class ComputeInput(StrictInputSerializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)


class AppraisalSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)
    employee_no = serializers.CharField(source="person.employee_no", read_only=True)

    class Meta:
        model = AppraisalGrade
        fields = ["id", "person", "person_name", "employee_no", "year", "grade", "imported_at"]


class ImportInput(StrictInputSerializer):
    file = serializers.FileField()
    dry_run = serializers.BooleanField(default=False)


class AppraisalImportInput(ImportInput):
    year = serializers.IntegerField()


class QuestionImportInput(ImportInput):
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all())


# --- Question bank and exams ---------------------------------------------------------------------


class QuestionTagSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuestionTag
        fields = ["id", "name"]


class ChoiceAdminSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    is_correct = serializers.BooleanField()


class QuestionSerializer(serializers.ModelSerializer):
    """A question of the bank, with its answers: for the admins of its unit only."""

    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    choices = ChoiceAdminSerializer(many=True, source="choices.all", read_only=True)

    class Meta:
        model = Question
        fields = ["id", "unit", "kind", "text", "explanation", "tags", "choices", "is_active", "created_at"]


class ChoiceInput(StrictInputSerializer):
    text = serializers.CharField(max_length=500)
    is_correct = serializers.BooleanField()


class QuestionInput(StrictInputSerializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all())
    kind = serializers.ChoiceField(choices=Question.Kind.choices)
    text = serializers.CharField(max_length=2000)
    explanation = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)
    choices = ChoiceInput(many=True)
    is_active = serializers.BooleanField(required=False, default=True)


class ExamSerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Exam
        fields = ["id", "title", "description", "unit", "unit_name", "tags", "question_count", "time_limit_minutes",
                  "opens_at", "closes_at", "attempts_allowed", "pass_percent", "points_on_pass",
                  "counts_for_awards", "status"]


class ExamInput(StrictInputSerializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=OrgUnit.objects.all())
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    tags = serializers.PrimaryKeyRelatedField(queryset=QuestionTag.objects.all(), many=True, required=False, default=list)
    question_count = serializers.IntegerField()
    time_limit_minutes = serializers.IntegerField()
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    attempts_allowed = serializers.IntegerField(required=False, default=1)
    pass_percent = serializers.IntegerField(required=False, default=60)
    points_on_pass = serializers.DecimalField(max_digits=6, decimal_places=2, required=False, allow_null=True, default=None)
    counts_for_awards = serializers.BooleanField(required=False, default=False)


class PaperChoiceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()


class PaperItemSerializer(serializers.Serializer):
    """A question during an attempt: its options in this attempt's order, and the person's
    saved choice — never which option is right, never the explanation."""

    question = serializers.IntegerField(source="question_id")
    position = serializers.IntegerField()
    kind = serializers.CharField()
    text = serializers.CharField()
    choices = serializers.SerializerMethodField()
    selected = serializers.ListField(child=serializers.IntegerField())

    def get_choices(self, obj) -> list[dict]:
        return [{"id": cid, "text": text} for cid, text in obj.choices]


class ReviewItemSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    kind = serializers.CharField()
    text = serializers.CharField()
    is_correct = serializers.BooleanField(allow_null=True)
    explanation = serializers.CharField()
    choices = serializers.SerializerMethodField()

    def get_choices(self, obj) -> list[dict]:
        return [{"id": cid, "text": text, "chosen": chosen, "is_correct": right}
                for cid, text, chosen, right in obj.choices]


class AttemptSerializer(serializers.ModelSerializer):
    exam_title = serializers.CharField(source="exam.title", read_only=True)

    class Meta:
        model = Attempt
        fields = ["id", "exam", "exam_title", "number", "started_at", "deadline", "submitted_at", "status",
                  "correct", "total", "percent", "passed"]


class ExamResultSerializer(serializers.ModelSerializer):
    person_name = serializers.CharField(source="person.name", read_only=True)
    employee_no = serializers.CharField(source="person.employee_no", read_only=True)
    unit_name = serializers.CharField(source="unit.name", default="", read_only=True)
    attempts_used = serializers.IntegerField(read_only=True)

    class Meta:
        model = Attempt
        fields = ["id", "person", "person_name", "employee_no", "unit", "unit_name", "percent", "passed",
                  "attempts_used", "submitted_at"]


class UnitExamResultSerializer(serializers.Serializer):
    unit = serializers.IntegerField(source="unit_id", allow_null=True)
    unit_name = serializers.CharField()
    people = serializers.IntegerField()
    passed = serializers.IntegerField()
    pass_rate = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    average = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)


class AnswersInput(StrictInputSerializer):
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text=_("{question id: [chosen option ids]} (one id for single choice and true/false)."),
    )


class SubmitInput(StrictInputSerializer):
    answers = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
