"""Evaluations API: read viewsets scoped by the selectors, plus command endpoints that each
call one service. An object outside the caller's scope is a 404."""

from __future__ import annotations

import io

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from evaluations import selectors, services
from evaluations.api import serializers as s
from evaluations.models import (
    AppraisalGrade,
    Attempt,
    Award,
    AwardType,
    Exam,
    ParticipationRating,
    Question,
    QuestionTag,
    Survey,
    SurveyTemplate,
)
from learning_portal.spreadsheets import XlsxWriter, write_csv
from org import selectors as org_selectors
from sessions import selectors as session_selectors
from sessions.models import Session


def _input(serializer_class, request: Request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ScopedQuerysetMixin:
    """Rows depend on the caller; the schema generator has none, so it gets an empty queryset."""

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return self.scoped_queryset()


def _year(request: Request) -> int:
    raw = request.query_params.get("year")
    if raw in (None, ""):
        return timezone.localdate().year
    try:
        year = int(raw)
    except ValueError:
        raise ValidationError({"year": [_("“%(value)s” is not a year.") % {"value": raw[:20]}]}) from None
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": [_("Enter a year between 2000 and 2100.")]})
    return year


def _paginated(view: APIView, request: Request, items: list, serializer_class) -> Response:
    paginator_class = getattr(view, "pagination_class", None) or api_settings.DEFAULT_PAGINATION_CLASS
    paginator = paginator_class()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


def _import_response(result: services.ImportResult) -> Response:
    body = {
        "dry_run": result.dry_run, "applied": result.applied, "sheet": result.sheet, "rows": result.rows,
        "created": result.created, "updated": result.updated, "errors": [e.as_dict() for e in result.errors],
    }
    if result.errors:
        body["detail"] = _("Nothing was imported: the sheet has %(n)s errors.") % {"n": len(result.errors)}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return Response(body, status=status.HTTP_200_OK if result.dry_run else status.HTTP_201_CREATED)


# --- Surveys ---------------------------------------------------------------------------------


class PendingSurveysView(APIView):
    """Classes the caller attended whose satisfaction survey is open and not yet answered."""

    @extend_schema(responses=s.PendingSurveySerializer(many=True))
    def get(self, request: Request) -> Response:
        return _paginated(self, request, selectors.pending_surveys_for(request.user), s.PendingSurveySerializer)


class SurveyFormView(APIView):
    """GET: the survey of a class the caller attended; POST: answer it (once, anonymously)."""

    def _session(self, request: Request, session_id: int) -> Session:
        return get_object_or_404(session_selectors.sessions_visible_to(request.user), pk=session_id)

    @extend_schema(responses=s.SurveyFormSerializer)
    def get(self, request: Request, session_id: int) -> Response:
        session = self._session(request, session_id)
        if session.status != Session.Status.CLOSED:
            raise ValidationError({"session": [_("The survey opens when the class has been closed.")]})
        survey = services.survey_open(session=session)
        return Response(s.SurveyFormSerializer(survey).data)

    @extend_schema(request=s.SurveyAnswerInput, responses={201: dict})
    def post(self, request: Request, session_id: int) -> Response:
        session = self._session(request, session_id)
        data = _input(s.SurveyAnswerInput, request)
        services.survey_submit(session=session, person=request.user, answers=data["answers"], comment=data["comment"])
        return Response({"detail": _("Thank you: your answers were recorded anonymously.")}, status=status.HTTP_201_CREATED)


class SurveyViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Surveys of the classes the caller gave or whose host unit is in their view scope:
    counts, and aggregated results once available — never who answered what."""

    serializer_class = s.SurveySerializer
    filterset_fields = ["anonymous"]
    search_fields = ["session__title"]

    queryset = Survey.objects.none()

    def scoped_queryset(self):
        return selectors.surveys_visible_to(self.request.user)

    @extend_schema(responses=s.SurveyResultsSerializer)
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk=None) -> Response:
        return Response(s.SurveyResultsSerializer(selectors.survey_results(self.get_object())).data)

    @extend_schema(
        parameters=[OpenApiParameter("fmt", str, enum=["xlsx", "csv"])],
        responses={(200, "application/octet-stream"): bytes},
    )
    @action(detail=True, methods=["get"], url_path="export", url_name="export")
    def export(self, request: Request, pk=None) -> HttpResponse:
        """The class's aggregated results as .xlsx (or CSV): questions, then comments."""
        survey = self.get_object()
        results = selectors.survey_results(survey)
        if not results.available:
            raise ValidationError({"detail": [results.reason]})
        return _sheet_response(
            request, f"survey-{survey.session_id}", selectors.survey_results_header(),
            selectors.survey_results_rows(results),
        )

    @extend_schema(request=s.AnonymityInput, responses=s.SurveySerializer)
    @action(detail=True, methods=["put"])
    def anonymity(self, request: Request, pk=None) -> Response:
        survey = services.survey_set_anonymity(
            actor=request.user, survey=self.get_object(), **_input(s.AnonymityInput, request)
        )
        return Response(s.SurveySerializer(survey).data)


def _sheet_response(request: Request, name: str, header: list[str], rows) -> HttpResponse:
    fmt = request.query_params.get("fmt", "xlsx")
    if fmt == "csv":
        buffer = io.StringIO()
        write_csv(buffer, header, rows)
        response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    if fmt != "xlsx":
        raise ValidationError({"fmt": [_("Choose xlsx or csv.")]})
    buffer = io.BytesIO()
    writer = XlsxWriter(buffer)
    writer.sheet(name[:31], header, rows)
    writer.close()
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


class SurveyTemplateViewSet(ScopedQuerysetMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Survey question sets of units the caller administers (units below inherit them)."""

    serializer_class = s.SurveyTemplateSerializer
    filterset_fields = ["unit"]

    queryset = SurveyTemplate.objects.none()

    def scoped_queryset(self):
        return selectors.survey_templates_managed_by(self.request.user).order_by("unit__path")

    @extend_schema(request=s.SurveyTemplateInput, responses=s.SurveyTemplateSerializer)
    def create(self, request: Request) -> Response:
        data = _input(s.SurveyTemplateInput, request)
        template = services.survey_template_save(actor=request.user, **data)
        return Response(s.SurveyTemplateSerializer(template).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance) -> None:
        services.survey_template_delete(actor=self.request.user, template=instance)


class LecturerStatsView(APIView):
    """Per lecturer for `?year=`: classes given, rated classes, satisfaction rate, average,
    attendance — the caller's own figures, and those of lecturers in their view scope."""

    @extend_schema(parameters=[OpenApiParameter("year", int)], responses=s.LecturerYearSerializer(many=True))
    def get(self, request: Request) -> Response:
        stats = selectors.lecturer_stats_visible_to(request.user, year=_year(request))
        return _paginated(self, request, stats, s.LecturerYearSerializer)


# --- Participation ratings ---------------------------------------------------------------------


class ParticipationRatingViewSet(ScopedQuerysetMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Lecturers' ratings of learners: those the caller gave, and of people in their scope."""

    serializer_class = s.ParticipationRatingSerializer
    filterset_fields = ["session", "person", "rater"]

    queryset = ParticipationRating.objects.none()

    def scoped_queryset(self):
        return selectors.ratings_visible_to(self.request.user).order_by("-updated_at", "-pk")

    @extend_schema(request=s.ParticipationInput, responses=s.ParticipationRatingSerializer)
    def create(self, request: Request) -> Response:
        data = _input(s.ParticipationInput, request)
        session = get_object_or_404(session_selectors.sessions_visible_to(request.user), pk=data.pop("session").pk)
        rating = services.participation_rate(rater=request.user, session=session, **data)
        return Response(s.ParticipationRatingSerializer(rating).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ParticipationRating) -> None:
        services.participation_unrate(rater=self.request.user, rating=instance)


# --- Awards ------------------------------------------------------------------------------------


class AwardTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """Award types and their rules (everyone reads; system admins change them)."""

    serializer_class = s.AwardTypeSerializer
    queryset = AwardType.objects.all()
    filterset_fields = ["rule", "is_active", "for_lecturers"]

    @extend_schema(request=s.AwardTypeInput, responses=s.AwardTypeSerializer)
    def create(self, request: Request) -> Response:
        data = _input(s.AwardTypeInput, request)
        award_type = services.award_type_save(actor=request.user, code=data.pop("code", ""), **data)
        return Response(s.AwardTypeSerializer(award_type).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AwardTypeInput, responses=s.AwardTypeSerializer)
    def partial_update(self, request: Request, pk=None) -> Response:
        data = _input(s.AwardTypeInput, request)
        if "code" in data:
            raise ValidationError({"code": [_("The code of an award type never changes.")]})
        award_type = services.award_type_save(actor=request.user, award_type=self.get_object(), **data)
        return Response(s.AwardTypeSerializer(award_type).data)


class AwardViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Nominations and awards of people in the caller's view scope; unit admins decide."""

    serializer_class = s.AwardSerializer
    filterset_fields = ["year", "status", "award_type", "person", "unit", "computed"]
    search_fields = ["person__name", "person__employee_no"]
    ordering_fields = ["score", "year", "nominated_at"]

    queryset = Award.objects.none()

    def scoped_queryset(self):
        return selectors.awards_visible_to(self.request.user).order_by(
            "-year", "award_type__sort_order", "-score", "pk"
        )

    @extend_schema(request=s.NominateInput, responses=s.AwardSerializer)
    def create(self, request: Request) -> Response:
        """Nominate a person of the caller's scope (e.g. 最佳创新奖 for a class they gave)."""
        data = _input(s.NominateInput, request)
        person = get_object_or_404(org_selectors.people_in_scope(request.user), pk=data.pop("person").pk)
        award = services.award_nominate(actor=request.user, person=person, **data)
        return Response(s.AwardSerializer(award).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CitationInput, responses=s.AwardSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk=None) -> Response:
        """Confirm the winner: the award's points are credited once."""
        award = services.award_confirm(actor=request.user, award=self.get_object(), **_input(s.CitationInput, request))
        return Response(s.AwardSerializer(award).data)

    @extend_schema(request=s.ReasonInput, responses=s.AwardSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk=None) -> Response:
        award = services.award_reject(actor=request.user, award=self.get_object(), **_input(s.ReasonInput, request))
        return Response(s.AwardSerializer(award).data)

    @extend_schema(request=s.ReasonInput, responses=s.AwardSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk=None) -> Response:
        """Withdraw a confirmed award; its credit is reversed in the ledger."""
        award = services.award_revoke(actor=request.user, award=self.get_object(), **_input(s.ReasonInput, request))
        return Response(s.AwardSerializer(award).data)

    @extend_schema(request=s.ComputeInput, responses={202: dict})
    @action(detail=False, methods=["post"])
    def compute(self, request: Request) -> Response:
        """Recompute the nominations of a year now (unit admins; runs in the background)."""
        if not (request.user.is_superuser or org_selectors.scope_for(request.user).manage):
            raise PermissionDenied
        year = _input(s.ComputeInput, request)["year"]
        from evaluations.tasks import compute_nominations

        compute_nominations.delay(year)
        return Response({"detail": _("The nominations of %(y)s are being computed.") % {"y": year}},
                        status=status.HTTP_202_ACCEPTED)


class HonoursViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """The honours board (荣誉榜): confirmed awards of the caller's part of the organisation."""

    serializer_class = s.HonourSerializer
    filterset_fields = ["year", "award_type", "person"]

    queryset = Award.objects.none()

    def scoped_queryset(self):
        return selectors.honours_visible_to(self.request.user)


class AppraisalViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Yearly appraisal grades (年度考核等次): the caller's own and those in their scope."""

    serializer_class = s.AppraisalSerializer
    filterset_fields = ["year", "grade", "person"]

    queryset = AppraisalGrade.objects.none()

    def scoped_queryset(self):
        return selectors.appraisals_visible_to(self.request.user).order_by("-year", "person__employee_no")

    @extend_schema(request={"multipart/form-data": s.AppraisalImportInput}, responses={201: dict})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_grades(self, request: Request) -> Response:
        """Import an .xlsx of 工号 and 考核等次; all rows or none (errors name sheet, row, column)."""
        data = _input(s.AppraisalImportInput, request)
        upload = data["file"]
        result = services.appraisal_import(
            actor=request.user, file=upload, filename=upload.name, year=data["year"], dry_run=data["dry_run"]
        )
        return _import_response(result)


# --- Question bank and exams ------------------------------------------------------------------


class QuestionTagViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.QuestionTagSerializer
    queryset = QuestionTag.objects.all()
    search_fields = ["name"]


class QuestionViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """The question banks of units the caller administers (with the answers)."""

    serializer_class = s.QuestionSerializer
    filterset_fields = ["unit", "kind", "is_active", "tags"]
    search_fields = ["text"]

    queryset = Question.objects.none()

    def scoped_queryset(self):
        return selectors.questions_managed_by(self.request.user).order_by("-created_at", "-pk")

    @extend_schema(request=s.QuestionInput, responses=s.QuestionSerializer)
    def create(self, request: Request) -> Response:
        question = services.question_save(actor=request.user, **_input(s.QuestionInput, request))
        return Response(s.QuestionSerializer(question).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.QuestionInput, responses=s.QuestionSerializer)
    def update(self, request: Request, pk=None) -> Response:
        question = services.question_save(actor=request.user, question=self.get_object(), **_input(s.QuestionInput, request))
        return Response(s.QuestionSerializer(question).data)

    @extend_schema(request={"multipart/form-data": s.QuestionImportInput}, responses={201: dict})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_questions(self, request: Request) -> Response:
        """Import an .xlsx of questions into a unit's bank; all rows or none."""
        data = _input(s.QuestionImportInput, request)
        upload = data["file"]
        result = services.questions_import(
            actor=request.user, unit=data["unit"], file=upload, filename=upload.name, dry_run=data["dry_run"]
        )
        return _import_response(result)


class ExamViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Exams open to the caller's unit, and every exam in their view scope."""

    serializer_class = s.ExamSerializer
    filterset_fields = ["status", "unit", "counts_for_awards"]
    search_fields = ["title"]
    parser_classes = [JSONParser]

    queryset = Exam.objects.none()

    def scoped_queryset(self):
        return selectors.exams_visible_to(self.request.user).prefetch_related("tags").order_by("-opens_at", "-pk")

    @extend_schema(request=s.ExamInput, responses=s.ExamSerializer)
    def create(self, request: Request) -> Response:
        exam = services.exam_save(actor=request.user, **_input(s.ExamInput, request))
        return Response(s.ExamSerializer(exam).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ExamInput, responses=s.ExamSerializer)
    def update(self, request: Request, pk=None) -> Response:
        exam = services.exam_save(actor=request.user, exam=self.get_object(), **_input(s.ExamInput, request))
        return Response(s.ExamSerializer(exam).data)

    @extend_schema(request=None, responses=s.ExamSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk=None) -> Response:
        return Response(s.ExamSerializer(services.exam_publish(actor=request.user, exam=self.get_object())).data)

    @extend_schema(request=None, responses=s.ExamSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk=None) -> Response:
        return Response(s.ExamSerializer(services.exam_withdraw(actor=request.user, exam=self.get_object())).data)

    @extend_schema(request=None, responses=s.AttemptSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk=None) -> Response:
        """Start (or resume) an attempt; the answer is the paper without the answers."""
        attempt = services.attempt_start(exam=self.get_object(), person=request.user)
        return Response(_attempt_body(attempt), status=status.HTTP_201_CREATED)

    def _managed(self):
        """An exam whose results the caller may read: any visible exam for someone with a view
        scope (a city-wide monthly exam too); the rows are limited to their scope."""
        exam = self.get_object()
        if not selectors.can_read_exam_results(self.request.user, exam):
            raise PermissionDenied
        return exam

    @extend_schema(responses=s.ExamResultSerializer(many=True))
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk=None) -> Response:
        """Each person's best result (people in the caller's view scope)."""
        rows = selectors.exam_person_results(self._managed(), request.user)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.ExamResultSerializer(page, many=True).data)

    @extend_schema(responses=s.UnitExamResultSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="unit-results")
    def unit_results(self, request: Request, pk=None) -> Response:
        """Per unit: people who finished, passed, pass rate, average best score."""
        return _paginated(self, request, selectors.exam_unit_results(self._managed(), request.user),
                          s.UnitExamResultSerializer)

    @extend_schema(parameters=[OpenApiParameter("fmt", str, enum=["xlsx", "csv"])],
                   responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"], url_path="results-export")
    def results_export(self, request: Request, pk=None) -> HttpResponse:
        exam = self._managed()
        return _sheet_response(request, f"exam-{exam.pk}", selectors.exam_results_header(),
                               selectors.exam_results_rows(exam, request.user))


def _attempt_body(attempt: Attempt) -> dict:
    body = s.AttemptSerializer(attempt).data
    now = timezone.now()
    if attempt.status == Attempt.Status.IN_PROGRESS:
        body["seconds_left"] = max(0, int((attempt.deadline - now).total_seconds()))
        body["questions"] = s.PaperItemSerializer(selectors.attempt_paper(attempt), many=True).data
    elif selectors.can_review_answers(attempt, now=now):
        body["review"] = s.ReviewItemSerializer(selectors.attempt_review(attempt), many=True).data
    return body


class AttemptViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """The caller's own exam attempts. In progress: the paper (no answers); finished: the
    grade, and the review once no attempt is left or the exam closed."""

    serializer_class = s.AttemptSerializer
    filterset_fields = ["exam", "status", "passed"]
    parser_classes = [JSONParser]

    queryset = Attempt.objects.none()

    def scoped_queryset(self):
        return selectors.my_attempts(self.request.user)

    def retrieve(self, request: Request, pk=None) -> Response:
        attempt = self.get_object()
        services.attempts_expire_due(person=request.user, exam=attempt.exam)
        attempt.refresh_from_db()
        return Response(_attempt_body(attempt))

    @extend_schema(request=s.AnswersInput, responses=s.AttemptSerializer)
    @action(detail=True, methods=["put"])
    def answers(self, request: Request, pk=None) -> Response:
        """Save answers so far (refused after the deadline)."""
        attempt = services.attempt_answer(
            attempt=self.get_object(), person=request.user, answers=_input(s.AnswersInput, request)["answers"]
        )
        return Response(_attempt_body(attempt))

    @extend_schema(request=s.SubmitInput, responses=s.AttemptSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk=None) -> Response:
        """Hand in the attempt (with its last answers) and get the grade."""
        attempt = services.attempt_submit(
            attempt=self.get_object(), person=request.user, answers=_input(s.SubmitInput, request)["answers"]
        )
        return Response(_attempt_body(attempt))

