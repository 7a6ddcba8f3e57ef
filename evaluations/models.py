"""Evaluations: satisfaction surveys, lecturers rating learners, awards, and online exams.

Two-way incentives of the interactive teaching method (互动式岗位教学法, 双向激励): learners
rate each class they attended (课程质量满意度测评表), lecturers rate the participation
of their learners, and the unit recognises both with awards whose nominations are
computed from the rules and confirmed by an admin. Exams (question bank, timed attempts,
auto-grading) serve the monthly 全员法制网上月考 and the quizzes of online courses.

Anonymity of the survey is a property of the schema, not of the views: a
`SurveyResponse` has no link to a person, a random primary key (so no insertion order
that could be matched with the order of `SurveyRespondent` rows) and a date, not a time.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from org.models import OrgUnit

LIKERT_MIN = 1
LIKERT_MAX = 5
# "Satisfied" or "very satisfied" on the five-point scale (满意 / 非常满意).
SATISFIED_FROM = 4


# --- Satisfaction survey ---------------------------------------------------------------------


class SurveyTemplate(models.Model):
    """A unit's question set for the satisfaction survey; units below it inherit it.

    A class's survey copies the questions of the template in force for its host unit
    (the nearest one up the tree, else the built-in default of `evaluations.selectors`)
    when the survey opens, so editing a template never changes a survey people answered.
    """

    unit = models.OneToOneField(
        OrgUnit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="survey_template"
    )
    name = models.CharField(_("name"), max_length=100)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("survey question set")
        verbose_name_plural = _("survey question sets")

    def __str__(self) -> str:
        return self.name


class TemplateQuestion(models.Model):
    """One five-point question of a question set; exactly one is the overall question."""

    template = models.ForeignKey(
        SurveyTemplate, on_delete=models.CASCADE, related_name="questions"
    )
    text = models.CharField(_("question"), max_length=200)
    is_overall = models.BooleanField(
        _("overall satisfaction"),
        default=False,
        help_text=_("The satisfaction rate is the share answering 4 or 5 to this question."),
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")
        constraints = [
            models.UniqueConstraint(
                fields=["template"], condition=Q(is_overall=True), name="eval_template_one_overall"
            ),
        ]

    def __str__(self) -> str:
        return self.text


class Survey(models.Model):
    """The satisfaction survey of one closed class (课程质量满意度测评表).

    Open from the moment the class was closed until `closes_at` (default three days).
    `anonymous` cannot change once anyone answered. Results are shown only after the
    survey closed (so nobody can watch the figures move as individuals answer) and only
    with at least `min_answers` responses. `response_count` is the number of responses.
    """

    session = models.OneToOneField(
        "lectures.Session", verbose_name=_("class"), on_delete=models.CASCADE, related_name="survey"
    )
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    anonymous = models.BooleanField(
        _("anonymous"),
        default=True,
        help_text=_("Answers cannot be traced to a person. Cannot be switched off once anyone answered."),
    )
    min_answers = models.PositiveSmallIntegerField(
        _("minimum answers for results"), default=5, validators=[MinValueValidator(1)]
    )
    response_count = models.PositiveIntegerField(_("responses"), default=0)
    attendee_count = models.PositiveIntegerField(
        _("attendees"), default=0, help_text=_("People who attended when the survey opened.")
    )
    reminded_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-opens_at", "-id"]
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        indexes = [models.Index(fields=["closes_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="eval_survey_window"),
            models.CheckConstraint(condition=Q(min_answers__gte=1), name="eval_survey_min_answers"),
        ]

    def __str__(self) -> str:
        return str(self.session)

    def is_open(self, now=None) -> bool:
        now = now or timezone.now()
        return self.opens_at <= now < self.closes_at

    def has_results(self, now=None) -> bool:
        now = now or timezone.now()
        return now >= self.closes_at and self.response_count >= self.min_answers


class SurveyQuestion(models.Model):
    """A question of one survey, copied from the question set when the survey opened."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    text = models.CharField(_("question"), max_length=200)
    is_overall = models.BooleanField(_("overall satisfaction"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("survey question")
        verbose_name_plural = _("survey questions")
        constraints = [
            models.UniqueConstraint(
                fields=["survey"], condition=Q(is_overall=True), name="eval_survey_one_overall"
            ),
        ]

    def __str__(self) -> str:
        return self.text


class SurveyRespondent(models.Model):
    """That a person answered a survey — and nothing about what they answered.

    The unique (survey, person) key makes "once each" a database guarantee: of any number
    of concurrent submissions exactly one can insert this row. It has no timestamp and
    no link to the response.
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="respondents")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="survey_responses_given"
    )

    class Meta:
        verbose_name = _("survey respondent")
        verbose_name_plural = _("survey respondents")
        constraints = [
            models.UniqueConstraint(fields=["survey", "person"], name="eval_respond_once"),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} · {self.person_id}"


class SurveyResponse(models.Model):
    """One anonymous filled-in survey: the answers and the optional comment.

    No person, no time of day, and a random key: neither the columns nor the row order
    lead back to who answered. `respondent` is set only for a survey whose admin chose
    to make it non-anonymous before anyone answered.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    submitted_on = models.DateField(_("submitted on"))
    comment = models.TextField(_("comment"), blank=True)
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Only for a survey that is not anonymous."),
    )

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")

    def __str__(self) -> str:
        return str(self.pk)


class SurveyAnswer(models.Model):
    """One five-point answer of a response (random key for the same reason)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(SurveyQuestion, on_delete=models.CASCADE, related_name="answers")
    value = models.PositiveSmallIntegerField(
        _("value"), validators=[MinValueValidator(LIKERT_MIN), MaxValueValidator(LIKERT_MAX)]
    )

    class Meta:
        verbose_name = _("survey answer")
        verbose_name_plural = _("survey answers")
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="eval_answer_once"),
            models.CheckConstraint(
                condition=Q(value__gte=LIKERT_MIN, value__lte=LIKERT_MAX), name="eval_answer_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}={self.value}"


# --- Lecturers rate learners ---------------------------------------------------------------------


class ParticipationRating(models.Model):
    """A lecturer's rating (1–5) of how an attendee took part in a class they gave.

    Optional; it feeds the 优秀学员 nomination. Rating again changes the rating.
    """

    session = models.ForeignKey(
        "lectures.Session", verbose_name=_("class"), on_delete=models.CASCADE, related_name="+"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("learner"),
        on_delete=models.CASCADE,
        related_name="participation_ratings",
    )
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("lecturer"), on_delete=models.CASCADE, related_name="+"
    )
    score = models.PositiveSmallIntegerField(
        _("score"), validators=[MinValueValidator(LIKERT_MIN), MaxValueValidator(LIKERT_MAX)]
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["session", "person"]
        verbose_name = _("participation rating")
        verbose_name_plural = _("participation ratings")
        constraints = [
            models.UniqueConstraint(fields=["session", "person", "rater"], name="eval_rate_once"),
            models.CheckConstraint(
                condition=Q(score__gte=LIKERT_MIN, score__lte=LIKERT_MAX), name="eval_rating_range"
            ),
            models.CheckConstraint(condition=~Q(person=F("rater")), name="eval_rating_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} · {self.person_id}: {self.score}"


# --- Awards ----------------------------------------------------------------------------------------


class AwardRule(models.TextChoices):
    """How the nominations of an award type are computed."""

    # Translators: 年度优秀教员 — satisfaction ≥ 80 % over the year's classes
    EXCELLENT_LECTURER = "excellent_lecturer", _("satisfaction over the year's classes")
    # Translators: 年度优秀课件 — chosen among the excellent lecturers' courseware
    EXCELLENT_COURSEWARE = "excellent_courseware", _("courseware of excellent lecturers")
    # Translators: 模范教员 — excellent lecturer three years running
    MODEL_LECTURER = "model_lecturer", _("excellent lecturer three consecutive years")
    # Translators: 最佳创新/专业/表现/潜力奖 — nominated from the year's classes
    YEAR_LECTURERS = "year_lecturers", _("lecturers of the year's classes")
    # Translators: 优秀学员 / 岗位履职标兵 — participation, monthly exams, appraisal grade
    LEARNER_SCORE = "learner_score", _("participation, exams and appraisal")
    MANUAL = "manual", _("nominated by an admin")


class AwardType(models.Model):
    """A kind of award (年度优秀教员, 模范教员, 最佳创新奖, 优秀学员 …) and how it is nominated.

    `points` empty: the credit rules decide (the credits app's award rule for `code`,
    else its default). The thresholds and weights are used by the rules that need them.
    """

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    rule = models.CharField(_("nomination rule"), max_length=30, choices=AwardRule.choices)
    for_lecturers = models.BooleanField(
        _("for lecturers"), default=True, help_text=_("Off: an award for learners.")
    )
    points = models.DecimalField(
        _("credit points"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Empty: the credit rules decide."),
    )
    min_satisfaction = models.DecimalField(
        _("minimum satisfaction (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("80"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    min_classes = models.PositiveSmallIntegerField(
        _("minimum classes with results"), default=1,
        help_text=_("Classes in the year whose survey reached the minimum number of answers."),
    )
    consecutive_years = models.PositiveSmallIntegerField(_("consecutive years"), default=3)
    weight_participation = models.DecimalField(
        _("weight of class participation"), max_digits=5, decimal_places=2, default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    weight_exams = models.DecimalField(
        _("weight of monthly exams"), max_digits=5, decimal_places=2, default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    weight_appraisal = models.DecimalField(
        _("weight of yearly appraisal"), max_digits=5, decimal_places=2, default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    min_score = models.DecimalField(
        _("minimum score"), max_digits=5, decimal_places=2, default=Decimal("80"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("Learners scoring at least this (0–100) are nominated."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("award type")
        verbose_name_plural = _("award types")

    def __str__(self) -> str:
        return self.name


class Award(models.Model):
    """A nomination of a person for an award of a year, and what became of it.

    Computed nominations come from the Celery job; an admin whose scope covers `unit`
    (the person's unit at nomination) confirms or rejects. Confirming credits the
    award's points once (idempotency key ``award:<id>``); `credit_entry_id` is that entry.
    """

    class Status(models.TextChoices):
        NOMINATED = "nominated", _("nominated")
        CONFIRMED = "confirmed", _("confirmed")
        REJECTED = "rejected", _("rejected")
        REVOKED = "revoked", _("revoked")

    award_type = models.ForeignKey(
        AwardType, verbose_name=_("award"), on_delete=models.PROTECT, related_name="awards"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="awards"
    )
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="+",
        help_text=_("The person's unit when nominated; its admins confirm."),
    )
    session = models.ForeignKey(
        "lectures.Session",
        verbose_name=_("class"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The class (or its courseware) the nomination is for, if any."),
    )
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=2, null=True, blank=True)
    basis = models.CharField(_("basis"), max_length=300, blank=True)
    computed = models.BooleanField(_("computed"), default=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NOMINATED)
    citation = models.CharField(_("citation"), max_length=500, blank=True)
    nominated_at = models.DateTimeField(_("nominated at"), default=timezone.now)
    nominated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    credit_entry_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-year", "award_type__sort_order", "-score", "id"]
        verbose_name = _("award")
        verbose_name_plural = _("awards")
        constraints = [
            models.UniqueConstraint(fields=["award_type", "year", "person"], name="eval_award_once"),
        ]
        indexes = [
            models.Index(fields=["year", "status"]),
            models.Index(fields=["person", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.award_type} {self.year} · {self.person_id}"


class AppraisalGrade(models.Model):
    """A person's yearly appraisal grade (年度考核: 优秀 / 称职 / 基本称职 / 不称职), imported."""

    class Grade(models.TextChoices):
        # Translators: 优秀 (yearly appraisal grade)
        EXCELLENT = "excellent", _("excellent")
        # Translators: 称职
        COMPETENT = "competent", _("competent")
        # Translators: 基本称职
        BASIC = "basic", _("basically competent")
        # Translators: 不称职
        INCOMPETENT = "incompetent", _("not competent")

    SCORES = {"excellent": 100, "competent": 80, "basic": 60, "incompetent": 0}

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="appraisals"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    grade = models.CharField(_("grade"), max_length=20, choices=Grade.choices)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)

    class Meta:
        ordering = ["-year", "person"]
        verbose_name = _("appraisal grade")
        verbose_name_plural = _("appraisal grades")
        constraints = [models.UniqueConstraint(fields=["person", "year"], name="eval_appraisal_once")]

    def __str__(self) -> str:
        return f"{self.person_id} {self.year}: {self.grade}"


# --- Exams -----------------------------------------------------------------------------------------


class QuestionTag(models.Model):
    """A label questions are drawn by (e.g. 宪法, 行政许可法, 档案法)."""

    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("question tag")
        verbose_name_plural = _("question tags")

    def __str__(self) -> str:
        return self.name


class Question(models.Model):
    """A question of a unit's bank. Exams of the unit and of units below it may draw it."""

    class Kind(models.TextChoices):
        SINGLE = "single", _("single choice")
        MULTIPLE = "multiple", _("multiple choice")
        TRUE_FALSE = "true_false", _("true or false")

    unit = models.ForeignKey(OrgUnit, verbose_name=_("bank of unit"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    text = models.TextField(_("question"))
    explanation = models.TextField(_("explanation"), blank=True)
    tags = models.ManyToManyField(QuestionTag, verbose_name=_("tags"), blank=True, related_name="questions")
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")

    def __str__(self) -> str:
        return self.text[:60]


class Choice(models.Model):
    """An option of a question; `is_correct` never leaves the server before submission."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(_("option"), max_length=500)
    is_correct = models.BooleanField(_("correct"), default=False)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("option")
        verbose_name_plural = _("options")

    def __str__(self) -> str:
        return self.text


class Exam(models.Model):
    """An online exam for everyone in `unit`'s subtree, open between two times.

    Each attempt draws `question_count` questions at random from the active questions
    of the banks of `unit` and its ancestors that carry one of `tags` (all, without
    tags), shuffles their options, and must be submitted within `time_limit_minutes`
    (and before the exam closes). A passed exam credits once (``exam:<exam>:<person>``).
    `counts_for_awards` marks the monthly exams (全员法制网上月考) that feed learner awards.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")
        ARCHIVED = "archived", _("withdrawn")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    unit = models.ForeignKey(OrgUnit, verbose_name=_("for unit"), on_delete=models.PROTECT, related_name="+")
    tags = models.ManyToManyField(QuestionTag, verbose_name=_("draw from tags"), blank=True, related_name="+")
    question_count = models.PositiveSmallIntegerField(_("questions per attempt"), validators=[MinValueValidator(1)])
    time_limit_minutes = models.PositiveSmallIntegerField(_("time limit (minutes)"), validators=[MinValueValidator(1)])
    opens_at = models.DateTimeField(_("opens at"))
    closes_at = models.DateTimeField(_("closes at"))
    attempts_allowed = models.PositiveSmallIntegerField(_("attempts allowed"), default=1, validators=[MinValueValidator(1)])
    pass_percent = models.PositiveSmallIntegerField(
        _("pass mark (%)"), default=60, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    points_on_pass = models.DecimalField(
        _("credit points on pass"), max_digits=6, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Empty: the credit rules decide. 0: no credits (e.g. a course quiz)."),
    )
    counts_for_awards = models.BooleanField(
        _("monthly exam"), default=False,
        help_text=_("Results feed the 优秀学员 and 岗位履职标兵 nominations (e.g. 全员法制网上月考)."),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-opens_at", "-id"]
        verbose_name = _("exam")
        verbose_name_plural = _("exams")
        indexes = [models.Index(fields=["status", "opens_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(closes_at__gt=F("opens_at")), name="eval_exam_window"),
            models.CheckConstraint(condition=Q(pass_percent__lte=100), name="eval_exam_pass_range"),
            models.CheckConstraint(condition=Q(question_count__gte=1), name="eval_exam_questions"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_open(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.PUBLISHED and self.opens_at <= now < self.closes_at


class Attempt(models.Model):
    """One person's sitting of an exam: the questions drawn, the deadline, the grade.

    `deadline` is fixed when the attempt starts (start + time limit, never after the exam
    closes); the server refuses answers after it. An attempt not submitted by then is
    graded on what was saved (status expired).
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("in progress")
        SUBMITTED = "submitted", _("submitted")
        EXPIRED = "expired", _("time ran out")

    exam = models.ForeignKey(Exam, verbose_name=_("exam"), on_delete=models.CASCADE, related_name="attempts")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="exam_attempts"
    )
    unit = models.ForeignKey(
        OrgUnit, verbose_name=_("unit"), on_delete=models.PROTECT, null=True, related_name="+",
        help_text=_("The person's unit when the attempt started."),
    )
    number = models.PositiveSmallIntegerField(_("attempt"), default=1)
    started_at = models.DateTimeField(_("started at"))
    deadline = models.DateTimeField(_("deadline"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    correct = models.PositiveSmallIntegerField(_("correct answers"), null=True, blank=True)
    total = models.PositiveSmallIntegerField(_("questions"), default=0)
    percent = models.DecimalField(_("score (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    passed = models.BooleanField(_("passed"), default=False)
    credit_entry_id = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("exam attempt")
        verbose_name_plural = _("exam attempts")
        constraints = [
            models.UniqueConstraint(fields=["exam", "person", "number"], name="eval_attempt_number"),
            models.UniqueConstraint(
                fields=["exam", "person"], condition=Q(status="in_progress"), name="eval_one_open_attempt"
            ),
            models.CheckConstraint(condition=Q(deadline__gt=F("started_at")), name="eval_attempt_deadline"),
        ]
        indexes = [models.Index(fields=["exam", "status"]), models.Index(fields=["person", "exam"])]

    def __str__(self) -> str:
        return f"{self.exam_id} · {self.person_id} #{self.number}"

    @property
    def is_finished(self) -> bool:
        return self.status != self.Status.IN_PROGRESS


class AttemptQuestion(models.Model):
    """A question drawn for an attempt, its options in this attempt's order, the answer."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="items")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()
    choice_order = models.JSONField(default=list, help_text="Option ids in the order shown.")
    selected = models.JSONField(default=list, help_text="Option ids the person chose.")
    is_correct = models.BooleanField(null=True)

    class Meta:
        ordering = ["position"]
        verbose_name = _("attempt question")
        verbose_name_plural = _("attempt questions")
        constraints = [
            models.UniqueConstraint(fields=["attempt", "question"], name="eval_attempt_question_once"),
            models.UniqueConstraint(fields=["attempt", "position"], name="eval_attempt_position_once"),
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id} · {self.position}"
