"""The courses API: catalog, learning (start, heartbeat), ratings, likes, recommendations,
my courses, course management, pushes and the dynamic management (动态管理) figures.

Reads come from `courses.selectors`, scoped to the caller: a course outside it is 404 and
never appears in a list. Commands validate the input shape and call one service.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from courses import counters, player, selectors, services
from courses.api import serializers as s
from courses.models import (
    Category,
    Course,
    CourseAudience,
    CoursePush,
    Lesson,
    Rating,
    Recommendation,
)
from learning_portal.api import ErrorSerializer
from org import selectors as org_selectors
from org.models import CadreLevel, User

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description=gettext_lazy("Invalid input; fields are named.")),
    403: OpenApiResponse(ErrorSerializer, description=gettext_lazy("Not allowed.")),
    404: OpenApiResponse(ErrorSerializer, description=gettext_lazy("Not found or outside your scope.")),
}


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _visible_course(request: Request, pk: int) -> Course:
    return get_object_or_404(selectors.courses_visible_to(request.user).select_related("owner_unit"), pk=pk)


def _managed_course(request: Request, pk: int) -> Course:
    """A course the caller may manage: 404 when they cannot even see it, 403 when only see."""
    course = _visible_course(request, pk)
    if not selectors.can_manage_course(request.user, course):
        raise PermissionDenied(_("You do not manage this course."))
    return course


# --- Catalog and learning -------------------------------------------------------------------------------


@extend_schema(tags=["courses"])
class CourseViewSet(viewsets.ViewSet):
    """The catalog and one course, with the learner's own commands on it."""

    lookup_value_converter = "int"

    @extend_schema(
        summary=gettext_lazy("Browse and search the catalog"),
        parameters=[s.CatalogQuerySerializer],
        responses={200: s.CatalogRowSerializer(many=True), 400: ERRORS[400]},
    )
    def list(self, request: Request) -> Response:
        query = s.CatalogQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        page, page_size = data.pop("page"), data.pop("page_size")
        result = selectors.catalog_page(request.user, selectors.CatalogFilters(**data), page, page_size=page_size)
        return Response(
            {
                "count": result.count,
                "page": result.number,
                "num_pages": result.num_pages,
                "results": s.CatalogRowSerializer(result.rows, many=True).data,
            }
        )

    @extend_schema(summary=gettext_lazy("One course with its lessons and your progress"),
                   responses={200: s.CourseDetailSerializer, 404: ERRORS[404]})
    def retrieve(self, request: Request, pk: int) -> Response:
        try:
            course = selectors.course_detail(request.user, pk)
        except Course.DoesNotExist:
            return Response({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
        counters.track(course_id=course.pk, cadre_level_id=request.user.cadre_level_id, person_id=request.user.pk)
        return Response(s.CourseDetailSerializer(course).data)

    @extend_schema(summary=gettext_lazy("Start studying the course"), request=None,
                   responses={200: s.EnrolmentSerializer, 400: ERRORS[400], 404: ERRORS[404]})
    @action(detail=True, methods=["post"])
    def enrol(self, request: Request, pk: int) -> Response:
        enrolment = services.course_enrol(person=request.user, course=_visible_course(request, pk))
        return Response(s.EnrolmentSerializer(enrolment).data)

    @extend_schema(summary=gettext_lazy("Rate the course (1–5, once; again to change it)"),
                   request=s.RateInputSerializer, responses={200: s.RatingSerializer, 400: ERRORS[400]})
    @action(detail=True, methods=["post"])
    def rate(self, request: Request, pk: int) -> Response:
        course = _visible_course(request, pk)
        data = s.RateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rating = services.course_rate(person=request.user, course=course, **data.validated_data)
        return Response(s.RatingSerializer(rating).data)

    @extend_schema(summary=gettext_lazy("Like (POST) or unlike (DELETE) the course (点赞)"), request=None,
                   responses={200: OpenApiResponse(description=gettext_lazy("{liked, like_count}"))})
    @action(detail=True, methods=["post", "delete"])
    def like(self, request: Request, pk: int) -> Response:
        course = _visible_course(request, pk)
        if request.method == "POST":
            services.course_like(person=request.user, course=course)
        else:
            services.course_unlike(person=request.user, course=course)
        course.refresh_from_db(fields=["like_count"])
        return Response({"liked": request.method == "POST", "like_count": course.like_count})

    @extend_schema(summary=gettext_lazy("Recommend the course to colleagues"),
                   request=s.RecommendInputSerializer, responses={201: None, 400: ERRORS[400]})
    @action(detail=True, methods=["post"])
    def recommend(self, request: Request, pk: int) -> Response:
        course = _visible_course(request, pk)
        data = s.RecommendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["recipients"]
        people = list(User.objects.filter(pk__in=ids))
        missing = sorted(set(ids) - {p.pk for p in people})
        if missing:
            return Response(
                {"detail": _("The request has invalid fields."),
                 "recipients": [_("Unknown people: %(ids)s.") % {"ids": ", ".join(map(str, missing))}]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        created = services.course_recommend(
            sender=request.user, course=course, recipients=people, note=data.validated_data["note"]
        )
        return Response({"sent": len(created)}, status=status.HTTP_201_CREATED)

    @extend_schema(summary=gettext_lazy("Ratings with comments"), responses={200: s.RatingSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def ratings(self, request: Request, pk: int) -> Response:
        course = _visible_course(request, pk)
        rows = Rating.objects.filter(course=course).exclude(comment="").select_related("person").order_by("-updated_at", "-id")
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(s.RatingSerializer(page, many=True).data)

    @extend_schema(summary=gettext_lazy("Learners in your scope and their progress (class teachers, admins)"),
                   responses={200: s.LearnerSerializer(many=True), 403: ERRORS[403]})
    @action(detail=True, methods=["get"])
    def learners(self, request: Request, pk: int) -> Response:
        course = _visible_course(request, pk)
        if not selectors.can_analyse_courses(request.user):
            raise PermissionDenied(_("Only class teachers, managers and admins see learners' progress."))
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.course_learners(request.user, course), request, view=self)
        return paginator.get_paginated_response(s.LearnerSerializer(page, many=True).data)

    @extend_schema(summary=gettext_lazy("Remind unfinished required learners in your scope"), request=None,
                   responses={200: OpenApiResponse(description=gettext_lazy("{reminded}"))})
    @action(detail=True, methods=["post"])
    def remind(self, request: Request, pk: int) -> Response:
        course = _visible_course(request, pk)
        return Response({"reminded": services.course_remind(actor=request.user, course=course)})


@extend_schema(tags=["courses"])
class LessonViewSet(viewsets.ViewSet):
    """Playing a lesson: start (resume position) and heartbeats (honest progress)."""

    lookup_value_converter = "int"

    def _lesson(self, request: Request, pk: int) -> Lesson:
        return get_object_or_404(selectors.visible_lessons(request.user).select_related("course"), pk=pk)

    @extend_schema(summary=gettext_lazy("Open a lesson: get the resume position"), request=None,
                   responses={200: s.LessonStartOutputSerializer, 400: ERRORS[400], 404: ERRORS[404]})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: int) -> Response:
        progress = services.lesson_start(person=request.user, lesson=self._lesson(request, pk))
        data = {
            "lesson_id": progress.lesson_id,
            "position_seconds": progress.position_seconds,
            "watched_seconds": progress.watched_seconds,
            "completed_at": progress.completed_at,
            "heartbeat_seconds": settings.COURSES_HEARTBEAT_SECONDS,
            "heartbeat_url": reverse("courses:heartbeat", args=[progress.lesson_id]),
            "heartbeat_token": player.heartbeat_token(person_id=request.user.pk, lesson_id=progress.lesson_id),
        }
        return Response(s.LessonStartOutputSerializer(data).data)

    @extend_schema(
        summary=gettext_lazy("Heartbeat from the player"),
        description=gettext_lazy(
            "Send every ~15 s while playing (and on pause/seek): the position and the player's clock. "
            "At most the real time since the previous heartbeat is credited."
        ),
        request=s.HeartbeatInputSerializer,
        responses={200: s.HeartbeatOutputSerializer, 400: ERRORS[400]},
    )
    @action(detail=True, methods=["post"])
    def heartbeat(self, request: Request, pk: int) -> Response:
        data = s.HeartbeatInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.lesson_heartbeat(person_id=request.user.pk, lesson_id=pk, **data.validated_data)
        counters.track(person_id=request.user.pk)
        return Response(
            {
                "position": result.position,
                "watched_seconds": result.watched_seconds,
                "duration": result.duration,
                "percent": result.percent,
                "credited": result.credited,
                "lesson_done": result.lesson_done,
                "course_completed": result.course_completed,
            }
        )


@extend_schema(tags=["courses"])
class MyCoursesView(APIView):
    @extend_schema(summary=gettext_lazy("My courses: in progress, completed, required with deadlines"),
                   responses={200: s.MyCoursesSerializer})
    def get(self, request: Request) -> Response:
        return Response(s.MyCoursesSerializer(selectors.my_courses(request.user)).data)


@extend_schema(tags=["courses"])
class RecommendationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Courses colleagues recommended to you."""

    serializer_class = s.RecommendationSerializer
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Recommendation]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Recommendation.objects.none()
        return (
            Recommendation.objects.filter(recipient=self.request.user, course__in=selectors.courses_visible_to(self.request.user))
            .select_related("course", "sender")
            .order_by("-created_at", "-id")
        )


@extend_schema(tags=["courses"])
class CategoryViewSet(viewsets.ModelViewSet):
    """Catalog categories: everyone reads; system admins change them."""

    serializer_class = s.CategorySerializer
    pagination_class = Pagination
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Category]:
        if getattr(self, "swagger_fake_view", False):
            return Category.objects.none()
        categories = Category.objects.all()
        if not self.request.user.is_superuser:
            categories = categories.filter(is_active=True)
        return categories

    @extend_schema(request=s.CategoryInputSerializer, responses={201: s.CategorySerializer, 403: ERRORS[403]})
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = s.CategoryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        category = services.category_save(actor=request.user, **data.validated_data)
        return Response(s.CategorySerializer(category).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CategoryInputSerializer, responses={200: s.CategorySerializer, 403: ERRORS[403]})
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        category = self.get_object()
        merged = {
            "name": category.name, "description": category.description,
            "sort_order": category.sort_order, "is_active": category.is_active,
        }
        data = s.CategoryInputSerializer(data={**merged, **request.data})
        data.is_valid(raise_exception=True)
        category = services.category_save(actor=request.user, category=category, **data.validated_data)
        return Response(s.CategorySerializer(category).data)

    def update(self, request: Request, *args, **kwargs) -> Response:
        return self.partial_update(request, *args, **kwargs)


class LiveView(APIView):
    @extend_schema(tags=["courses"], summary=gettext_lazy("How many people are studying right now"),
                   responses={200: OpenApiResponse(description=gettext_lazy("{studying_now}"))})
    def get(self, request: Request) -> Response:
        return Response({"studying_now": selectors.studying_now()})


# --- Management -------------------------------------------------------------------------------------------------


def _course_input(request: Request, data: dict) -> services.CourseInput:
    owner_id = data.pop("owner_unit", None)
    owner = None
    if owner_id is not None:
        owner = get_object_or_404(org_selectors.units_in_scope(request.user, access="manage"), pk=owner_id)
    return services.CourseInput(owner_unit=owner, **data)


@extend_schema(tags=["courses-admin"])
class ManageCourseViewSet(viewsets.ViewSet):
    """Courses you manage (any status): create, edit, lessons, online/offline, audience, push."""

    lookup_value_converter = "int"

    def _course(self, request: Request, pk: int) -> Course:
        return _managed_course(request, pk)

    @extend_schema(summary=gettext_lazy("Courses you manage"), responses={200: s.ManageCourseSerializer(many=True)})
    def list(self, request: Request) -> Response:
        if not selectors.can_manage_courses(request.user):
            raise PermissionDenied(_("Only unit admins and system admins manage courses."))
        courses = selectors.courses_managed_by(request.user).select_related("category", "owner_unit").prefetch_related("tags")
        status_filter = request.query_params.get("status", "")
        if status_filter in Course.Status.values:
            courses = courses.filter(status=status_filter)
        text = request.query_params.get("q", "").strip().lower()
        if text:
            courses = courses.filter(search_text__contains=text)
        paginator = Pagination()
        page = paginator.paginate_queryset(courses.order_by("-updated_at", "-id"), request, view=self)
        return paginator.get_paginated_response(s.ManageCourseSerializer(page, many=True).data)

    @extend_schema(summary=gettext_lazy("Create a course (as a draft)"), request=s.CourseInputSerializer,
                   responses={201: s.ManageCourseSerializer, 400: ERRORS[400], 403: ERRORS[403]})
    def create(self, request: Request) -> Response:
        data = s.CourseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        course = services.course_create(actor=request.user, data=_course_input(request, dict(data.validated_data)))
        return Response(s.ManageCourseSerializer(course).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary=gettext_lazy("A course you manage"), responses={200: s.ManageCourseSerializer})
    def retrieve(self, request: Request, pk: int) -> Response:
        return Response(s.ManageCourseSerializer(self._course(request, pk)).data)

    @extend_schema(summary=gettext_lazy("Change a course (send every field)"), request=s.CourseInputSerializer,
                   responses={200: s.ManageCourseSerializer, 400: ERRORS[400]})
    def update(self, request: Request, pk: int) -> Response:
        course = self._course(request, pk)
        data = s.CourseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        course = services.course_update(actor=request.user, course=course, data=_course_input(request, dict(data.validated_data)))
        return Response(s.ManageCourseSerializer(course).data)

    @extend_schema(summary=gettext_lazy("Add a lesson (multipart: file, or external_url)"),
                   request={"multipart/form-data": s.LessonInputSerializer},
                   responses={201: s.LessonSerializer, 400: ERRORS[400]})
    @action(detail=True, methods=["get", "post"])
    def lessons(self, request: Request, pk: int) -> Response:
        course = self._course(request, pk)
        if request.method == "GET":
            return Response(s.LessonSerializer(course.lessons.order_by("position", "id"), many=True).data)
        data = s.LessonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        lesson = services.lesson_add(
            actor=request.user, course=course, title=values["title"], kind=values["kind"],
            duration_seconds=values["duration_seconds"], upload=values.get("file"),
            external_url=values.get("external_url", ""),
        )
        return Response(s.LessonSerializer(lesson).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary=gettext_lazy("Put courses online or offline, now or at a time (bulk)"),
                   request=s.StatusInputSerializer, responses={200: OpenApiResponse(description="{changed}")})
    @action(detail=False, methods=["post"], url_path="status")
    def set_status(self, request: Request) -> Response:
        data = s.StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["courses"]
        courses = list(selectors.courses_visible_to(request.user).filter(pk__in=ids))
        missing = sorted(set(ids) - {c.pk for c in courses})
        if missing:
            return Response(
                {"detail": _("Not found."), "courses": [_("Unknown courses: %(ids)s.") % {"ids": ", ".join(map(str, missing))}]},
                status=status.HTTP_404_NOT_FOUND,
            )
        changed = services.courses_set_status(
            actor=request.user, courses=courses, action=data.validated_data["action"], at=data.validated_data.get("at")
        )
        return Response({"changed": changed})

    @extend_schema(summary=gettext_lazy("Audience: required / elective for units and cadre levels"),
                   request=s.AudienceInputSerializer, responses={200: s.AudienceSerializer(many=True), 201: s.AudienceSerializer})
    @action(detail=True, methods=["get", "post"])
    def audiences(self, request: Request, pk: int) -> Response:
        course = self._course(request, pk)
        if request.method == "GET":
            rows = course.audiences.select_related("unit", "cadre_level")
            return Response(s.AudienceSerializer(rows, many=True).data)
        data = s.AudienceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        unit = level = None
        if values.get("unit"):
            unit = get_object_or_404(org_selectors.units_in_scope(request.user, access="manage"), pk=values["unit"])
        if values.get("cadre_level"):
            level = get_object_or_404(CadreLevel, pk=values["cadre_level"])
        audience = services.course_audience_add(
            actor=request.user, course=course, kind=values["kind"], unit=unit, cadre_level=level,
            deadline=values.get("deadline"),
        )
        return Response(s.AudienceSerializer(audience).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary=gettext_lazy("Push the course to an audience (重点课程推送)"),
                   request=s.PushInputSerializer, responses={201: s.PushSerializer, 400: ERRORS[400]})
    @action(detail=True, methods=["post"])
    def push(self, request: Request, pk: int) -> Response:
        course = self._course(request, pk)
        data = s.PushInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        units = list(org_selectors.units_in_scope(request.user, access="manage").filter(pk__in=values["units"]))
        if len(units) != len(set(values["units"])):
            return Response(
                {"detail": _("The request has invalid fields."), "units": [_("Some units are unknown or outside your scope.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        levels = list(CadreLevel.objects.filter(pk__in=values["cadre_levels"]))
        if len(levels) != len(set(values["cadre_levels"])):
            return Response(
                {"detail": _("The request has invalid fields."), "cadre_levels": [_("Some cadre levels are unknown.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        push = services.course_push(
            actor=request.user, course=course, message=values["message"], units=units, cadre_levels=levels,
            show_until=values.get("show_until"),
        )
        push.refresh_from_db()
        return Response(s.PushSerializer(push).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["courses-admin"])
class ManageLessonViewSet(viewsets.ViewSet):
    """Change or remove a lesson of a course you manage."""

    lookup_value_converter = "int"

    def _lesson(self, request: Request, pk: int) -> Lesson:
        lesson = get_object_or_404(selectors.visible_lessons(request.user).select_related("course__owner_unit"), pk=pk)
        if not selectors.can_manage_course(request.user, lesson.course):
            raise PermissionDenied(_("You do not manage this course."))
        return lesson

    @extend_schema(request={"multipart/form-data": s.LessonInputSerializer}, responses={200: s.LessonSerializer})
    def update(self, request: Request, pk: int) -> Response:
        lesson = self._lesson(request, pk)
        data = s.LessonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        lesson = services.lesson_update(
            actor=request.user, lesson=lesson, title=values["title"], kind=values["kind"],
            duration_seconds=values["duration_seconds"], upload=values.get("file"),
            external_url=values.get("external_url", ""),
        )
        return Response(s.LessonSerializer(lesson).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: int) -> Response:
        services.lesson_delete(actor=request.user, lesson=self._lesson(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["courses-admin"])
class ManageAudienceViewSet(viewsets.ViewSet):
    lookup_value_converter = "int"

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: int) -> Response:
        audience = get_object_or_404(
            CourseAudience.objects.filter(course__in=selectors.courses_visible_to(request.user)).select_related("course__owner_unit"),
            pk=pk,
        )
        services.course_audience_remove(actor=request.user, audience=audience)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["courses-admin"])
class PushViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Pushes of courses you manage."""

    serializer_class = s.PushSerializer
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[CoursePush]:
        if getattr(self, "swagger_fake_view", False):
            return CoursePush.objects.none()
        return (
            CoursePush.objects.filter(course__in=selectors.courses_managed_by(self.request.user))
            .select_related("course")
            .order_by("-created_at", "-id")
        )


@extend_schema(tags=["courses-admin"])
class DynamicView(APIView):
    """动态管理: rankings, take-offline and promote candidates, period counts, demand by level."""

    @extend_schema(
        summary=gettext_lazy("Dynamic management figures for a period"),
        parameters=[s.DynamicQuerySerializer],
        responses={200: OpenApiResponse(description=gettext_lazy(
            "{period, ranking, offline_candidates, promote_candidates, lifecycle, demand}")), 403: ERRORS[403]},
    )
    def get(self, request: Request) -> Response:
        if not selectors.can_analyse_courses(request.user):
            raise PermissionDenied(_("Only admins and managers see the dynamic management figures."))
        query = s.DynamicQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        values = query.validated_data
        default = selectors.default_period()
        period = selectors.Period(start=values.get("start") or default.start, end=values.get("end") or default.end)
        if period.start > period.end:
            period = selectors.Period(start=period.end, end=period.end)
        ranking = list(selectors.course_ranking(request.user, period, order=values["order"])[: values["limit"]])
        return Response(
            {
                "period": {"start": period.start, "end": period.end},
                "ranking": s.RankedCourseSerializer(ranking, many=True).data,
                "offline_candidates": s.CandidateSerializer(selectors.offline_candidates(request.user, period), many=True).data,
                "promote_candidates": s.CandidateSerializer(selectors.promote_candidates(request.user, period), many=True).data,
                "lifecycle": selectors.lifecycle_counts(request.user, period),
                "demand": selectors.level_demand(request.user, period),
            }
        )

