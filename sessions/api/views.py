"""Micro-class API: read viewsets scoped by the selectors, plus command endpoints that each
call one service. An object outside the caller's scope is a 404."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from org import selectors as org_selectors
from org.models import OrgUnit
from sessions import checkin, exports, selectors, services
from sessions.api import serializers as s
from sessions.models import (
    Declaration,
    Menu,
    MenuTopic,
    PlanItem,
    Session,
    TeachingPlan,
    Track,
    Wish,
)


def _input(serializer_class, request: Request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- Reference data -------------------------------------------------------------------------


class TrackViewSet(viewsets.ReadOnlyModelViewSet):
    """Tracks (series) such as 业务专家谈业务; system admins add and edit them."""

    serializer_class = s.TrackSerializer
    queryset = Track.objects.all()
    search_fields = ["name"]

    @extend_schema(request=s.TrackInput, responses=s.TrackSerializer)
    def create(self, request: Request) -> Response:
        track = services.track_save(actor=request.user, **_input(s.TrackInput, request))
        return Response(s.TrackSerializer(track).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.TrackInput, responses=s.TrackSerializer)
    def update(self, request: Request, pk=None) -> Response:
        track = services.track_save(actor=request.user, track=self.get_object(), **_input(s.TrackInput, request))
        return Response(s.TrackSerializer(track).data)


class SpeakerViewSet(viewsets.ReadOnlyModelViewSet):
    """The speaker pool: staff and invited external experts in the caller's scope."""

    serializer_class = s.SpeakerSerializer
    search_fields = ["name", "organisation", "expertise"]
    filterset_fields = ["is_active", "unit"]

    def get_queryset(self):
        return selectors.speakers_visible_to(self.request.user).order_by("name", "id")

    @extend_schema(request=s.SpeakerInput, responses=s.SpeakerSerializer)
    def create(self, request: Request) -> Response:
        speaker = services.speaker_save(actor=request.user, **_input(s.SpeakerInput, request))
        return Response(s.SpeakerSerializer(speaker).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SpeakerInput, responses=s.SpeakerSerializer)
    def update(self, request: Request, pk=None) -> Response:
        speaker = services.speaker_save(actor=request.user, speaker=self.get_object(), **_input(s.SpeakerInput, request))
        return Response(s.SpeakerSerializer(speaker).data)


class VenueViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.VenueSerializer
    search_fields = ["name", "address"]
    filterset_fields = ["kind", "unit", "is_active"]

    def get_queryset(self):
        return selectors.venues_visible_to(self.request.user).order_by("name", "id")

    @extend_schema(request=s.VenueInput, responses=s.VenueSerializer)
    def create(self, request: Request) -> Response:
        venue = services.venue_save(actor=request.user, **_input(s.VenueInput, request))
        return Response(s.VenueSerializer(venue).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.VenueInput, responses=s.VenueSerializer)
    def update(self, request: Request, pk=None) -> Response:
        venue = services.venue_save(actor=request.user, venue=self.get_object(), **_input(s.VenueInput, request))
        return Response(s.VenueSerializer(venue).data)


# --- Menus, topics, wishes -------------------------------------------------------------------


class MenuViewSet(viewsets.ReadOnlyModelViewSet):
    """Annual menus (年度选学菜单): the caller's own units' published menus, and every menu
    in their scope."""
    queryset = Menu.objects.none()  # for the schema; requests use get_queryset

    serializer_class = s.MenuSerializer
    filterset_fields = ["year", "status", "unit"]

    def get_queryset(self):
        return selectors.menus_visible_to(self.request.user).order_by("-year", "unit__path", "id")

    @extend_schema(request=s.MenuInput, responses=s.MenuSerializer)
    def create(self, request: Request) -> Response:
        menu = services.menu_create(actor=request.user, **_input(s.MenuInput, request))
        return Response(s.MenuSerializer(menu).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.MenuUpdateInput, responses=s.MenuSerializer)
    def update(self, request: Request, pk=None) -> Response:
        menu = services.menu_update(actor=request.user, menu=self.get_object(), **_input(s.MenuUpdateInput, request))
        return Response(s.MenuSerializer(menu).data)

    @extend_schema(request=None, responses=s.MenuSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk=None) -> Response:
        return Response(s.MenuSerializer(services.menu_publish(actor=request.user, menu=self.get_object())).data)

    @extend_schema(request=None, responses=s.MenuSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk=None) -> Response:
        return Response(s.MenuSerializer(services.menu_close(actor=request.user, menu=self.get_object())).data)

    @extend_schema(responses=s.MenuTopicSerializer(many=True))
    @action(detail=True, methods=["get"])
    def topics(self, request: Request, pk=None) -> Response:
        """The topics with their demand (how many chose each) and whether the caller chose it."""
        topics = selectors.menu_topics_with_demand(self.get_object(), request.user)
        return Response(s.MenuTopicSerializer(topics, many=True).data)

    @extend_schema(request=s.ChoicesInput, responses=s.ChoicesInput)
    @action(detail=True, methods=["put"], url_path="my-choices")
    def my_choices(self, request: Request, pk=None) -> Response:
        data = _input(s.ChoicesInput, request)
        ids = services.menu_choices_set(menu=self.get_object(), person=request.user, topic_ids=data["topics"])
        return Response({"topics": ids})


class MenuTopicViewSet(mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = MenuTopic.objects.none()  # for the schema; requests use get_queryset
    serializer_class = s.MenuTopicSerializer
    filterset_fields = ["menu", "track"]

    def get_queryset(self):
        return MenuTopic.objects.filter(menu__in=selectors.menus_visible_to(self.request.user)).select_related("track")

    @extend_schema(request=s.MenuTopicInput, responses=s.MenuTopicSerializer)
    def create(self, request: Request) -> Response:
        data = _input(s.MenuTopicInput, request)
        menu = get_object_or_404(selectors.menus_managed_by(request.user), pk=data.pop("menu").pk)
        topic = services.menu_topic_add(actor=request.user, menu=menu, **data)
        return Response(s.MenuTopicSerializer(topic).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: MenuTopic) -> None:
        services.menu_topic_remove(actor=self.request.user, topic=instance)


class WishViewSet(mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Free-text wishes: the caller's own, plus those on menus the caller manages."""
    queryset = Wish.objects.none()  # for the schema; requests use get_queryset

    serializer_class = s.WishSerializer
    filterset_fields = ["menu"]

    def get_queryset(self):
        managed = selectors.menus_managed_by(self.request.user)
        return Wish.objects.filter(Q(person=self.request.user) | Q(menu__in=managed)).select_related("person")

    @extend_schema(request=s.WishInput, responses=s.WishSerializer)
    def create(self, request: Request) -> Response:
        data = _input(s.WishInput, request)
        menu = get_object_or_404(selectors.menus_visible_to(request.user), pk=data["menu"].pk)
        wish = services.wish_add(menu=menu, person=request.user, text=data["text"])
        return Response(s.WishSerializer(wish).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Wish) -> None:
        services.wish_remove(wish=instance, person=self.request.user)


# --- Declarations ------------------------------------------------------------------------------


class DeclarationFilter(filters.FilterSet):
    mine = filters.BooleanFilter(method="filter_mine", help_text=_("Only the caller's own declarations."))

    class Meta:
        model = Declaration
        fields = ["year", "status", "kind", "track", "unit"]

    def filter_mine(self, queryset, name, value):
        return queryset.filter(declarer=self.request.user) if value else queryset


class DeclarationViewSet(viewsets.ReadOnlyModelViewSet):
    """Course declarations (课程申报): the caller's own and those from units in scope."""
    queryset = Declaration.objects.none()  # for the schema; requests use get_queryset

    serializer_class = s.DeclarationSerializer
    filterset_class = DeclarationFilter
    search_fields = ["title", "declarer__name"]

    def get_queryset(self):
        return selectors.declarations_visible_to(self.request.user).order_by("-created_at", "-id")

    @extend_schema(request=s.DeclarationInput, responses=s.DeclarationSerializer)
    def create(self, request: Request) -> Response:
        declaration = services.declaration_submit(declarer=request.user, **_input(s.DeclarationInput, request))
        return Response(s.DeclarationSerializer(declaration).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ReviewInput, responses=s.DeclarationSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk=None) -> Response:
        data = _input(s.ReviewInput, request)
        approve = data.pop("decision") == "approve"
        declaration = services.declaration_review(declaration=self.get_object(), actor=request.user, approve=approve, **data)
        return Response(s.DeclarationSerializer(declaration).data)

    @extend_schema(request=None, responses=s.DeclarationSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk=None) -> Response:
        declaration = services.declaration_withdraw(declaration=self.get_object(), person=request.user)
        return Response(s.DeclarationSerializer(declaration).data)


class OwedPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    employee_no = serializers.CharField()
    unit_name = serializers.CharField(source="unit.name")


class DeclarationsOwedView(generics.ListAPIView):
    """People under a unit (`?unit=`, one the caller manages) who still owe the year's
    (`?year=`) regular declaration under the unit's age rule."""

    serializer_class = OwedPersonSerializer
    filter_backends: list = []

    def get_queryset(self):
        request = self.request
        unit = get_object_or_404(
            org_selectors.units_in_scope(request.user, access="manage"), pk=_int_param(request, "unit", 0)
        )
        return selectors.declarations_owed(unit=unit, year=_int_param(request, "year", timezone.localdate().year))


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({name: [_("“%(value)s” is not a number.") % {"value": raw}]}) from None


# --- Plans ------------------------------------------------------------------------------------


class PlanViewSet(viewsets.ReadOnlyModelViewSet):
    """Teaching plans (基础教学计划)."""
    queryset = TeachingPlan.objects.none()  # for the schema; requests use get_queryset

    serializer_class = s.PlanSerializer
    filterset_fields = ["year", "unit"]

    def get_queryset(self):
        return selectors.plans_visible_to(self.request.user).order_by("-year", "unit__path")

    @extend_schema(request=s.PlanInput, responses=s.PlanSerializer)
    def create(self, request: Request) -> Response:
        plan = services.plan_create(actor=request.user, **_input(s.PlanInput, request))
        return Response(s.PlanSerializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.PlanItemSerializer(many=True))
    @action(detail=True, methods=["post"])
    def propose(self, request: Request, pk=None) -> Response:
        """Add the approved declarations not yet planned, most wanted first."""
        items = services.plan_propose(actor=request.user, plan=self.get_object())
        return Response(s.PlanItemSerializer(items, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"])
    def months(self, request: Request, pk=None) -> Response:
        """Month by month: the planned classes, the target, and how many are missing."""
        months = selectors.plan_months(self.get_object())
        return Response([
            {"month": m.month, "target": m.target, "short_by": m.short_by,
             "items": s.PlanItemSerializer(m.items, many=True).data}
            for m in months
        ])


class PlanItemViewSet(mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = PlanItem.objects.none()  # for the schema; requests use get_queryset
    serializer_class = s.PlanItemSerializer
    filterset_fields = ["plan", "month"]

    def get_queryset(self):
        return PlanItem.objects.filter(plan__in=selectors.plans_visible_to(self.request.user)).select_related(
            "track", "speaker", "plan__unit"
        )

    @extend_schema(request=s.PlanItemInput, responses=s.PlanItemSerializer)
    def create(self, request: Request) -> Response:
        data = _input(s.PlanItemInput, request)
        plan = get_object_or_404(selectors.plans_managed_by(request.user), pk=data.pop("plan").pk)
        item = services.plan_item_add(actor=request.user, plan=plan, **data)
        return Response(s.PlanItemSerializer(item).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PlanItemUpdateInput, responses=s.PlanItemSerializer)
    def update(self, request: Request, pk=None) -> Response:
        item = services.plan_item_update(actor=request.user, item=self.get_object(), **_input(s.PlanItemUpdateInput, request))
        return Response(s.PlanItemSerializer(item).data)

    def perform_destroy(self, instance: PlanItem) -> None:
        services.plan_item_remove(actor=self.request.user, item=instance)


# --- Classes ----------------------------------------------------------------------------------


class SessionFilter(filters.FilterSet):
    start_after = filters.IsoDateTimeFilter(field_name="start", lookup_expr="gte")
    start_before = filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt")
    upcoming = filters.BooleanFilter(method="filter_upcoming", help_text=_("Only classes that have not ended."))

    class Meta:
        model = Session
        fields = ["status", "track", "host_unit", "format"]

    def filter_upcoming(self, queryset, name, value):
        return queryset.filter(end__gte=timezone.now()) if value else queryset


class SessionViewSet(viewsets.ReadOnlyModelViewSet):
    """Micro-classes the caller may see (in scope, in the audience, or as speaker)."""

    serializer_class = s.SessionSerializer
    filterset_class = SessionFilter
    search_fields = ["title", "description"]
    ordering_fields = ["start", "title"]
    ordering = ["start", "id"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.with_list_data(selectors.sessions_visible_to(self.request.user), self.request.user)

    def _reload(self, session: Session) -> dict:
        return s.SessionSerializer(self.get_queryset().get(pk=session.pk)).data

    @extend_schema(request=s.SessionInput, responses=s.SessionSerializer)
    def create(self, request: Request) -> Response:
        data = _input(s.SessionInput, request)
        session = services.session_create(actor=request.user, **data)
        return Response(self._reload(session), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SessionUpdateInput, responses=s.SessionSerializer)
    def update(self, request: Request, pk=None) -> Response:
        """Edit or reschedule; the audience is told when the time or venue changes."""
        session = self.get_object()
        data = _input(s.SessionUpdateInput, request)
        session = services.session_update(actor=request.user, session=session, **data)
        return Response(self._reload(session))

    @extend_schema(request=s.CancelInput, responses=s.SessionSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        session = services.session_cancel(actor=request.user, session=self.get_object(), **_input(s.CancelInput, request))
        return Response(self._reload(session))

    @extend_schema(request=None, responses=s.SessionSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk=None) -> Response:
        """Close the class: attendees and staff speakers are credited (once)."""
        session = services.session_close(actor=request.user, session=self.get_object())
        return Response(self._reload(session))

    @extend_schema(request=None, responses={201: dict})
    @action(detail=True, methods=["post", "delete"])
    def registration(self, request: Request, pk=None) -> Response:
        """POST takes a seat, DELETE gives it back (classes with a capacity only)."""
        session = self.get_object()
        if request.method == "DELETE":
            services.registration_cancel(session=session, person=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        reg = services.registration_create(session=session, person=request.user)
        return Response({"session": session.pk, "registered_at": reg.created_at}, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CheckinInput, responses=s.AttendanceSerializer)
    @action(detail=True, methods=["post"], url_path="check-in")
    def check_in(self, request: Request, pk=None) -> Response:
        """Check the caller in with the QR token or the short code (only for oneself)."""
        data = _input(s.CheckinInput, request)
        session = get_object_or_404(Session.objects.select_related("host_unit"), pk=pk)
        if not data["token"] and not data["code"]:
            raise ValidationError({"token": [_("Scan the QR code or type the code on the screen.")]})
        if data["token"]:
            row = services.checkin_by_token(session=session, person=request.user, token=data["token"])
        else:
            row = services.checkin_by_code(session=session, person=request.user, code=data["code"])
        return Response(
            {"session": row.session_id, "status": row.status, "method": row.method, "checked_in_at": row.checked_in_at},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"], url_path="check-in-code")
    def checkin_code(self, request: Request, pk=None) -> Response:
        """For the check-in screen (admin or speaker): the current token, URL and code."""
        session = self.get_object()
        if not selectors.can_run_checkin(request.user, session):
            raise PermissionDenied
        now = timezone.now()
        token = checkin.make_token(session, now)
        return Response({
            "token": token,
            "url": request.build_absolute_uri(f"/lectures/classes/{session.pk}/check-in/?t={token}"),
            "code": checkin.short_code(session, now),
            "expires_in": checkin.seconds_left(now),
        })

    @extend_schema(responses=s.AttendanceSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def attendance(self, request: Request, pk=None) -> Response:
        """GET: the register (host-unit admins and viewers, speakers). POST: mark or correct one person."""
        session = self.get_object()
        if request.method == "POST":
            data = _input(s.MarkInput, request)
            row = services.attendance_mark(actor=request.user, session=session, **data)
            row = selectors.attendance_of(session).get(pk=row.pk)
            return Response(s.AttendanceSerializer(row).data)
        if not org_selectors.scope_for(request.user).covers(session.host_unit) and not selectors.is_speaker(
            request.user, session
        ):
            raise PermissionDenied
        rows = selectors.attendance_of(session)
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.AttendanceSerializer(page, many=True).data)

    @extend_schema(request=s.CoursewareInput, responses=s.CoursewareSerializer(many=True))
    @action(detail=True, methods=["get", "post"])
    def courseware(self, request: Request, pk=None) -> Response:
        session = self.get_object()
        if request.method == "POST":
            data = _input(s.CoursewareInput, request)
            item = services.courseware_add(actor=request.user, session=session, upload=data["file"])
            return Response(s.CoursewareSerializer(item).data, status=status.HTTP_201_CREATED)
        return Response(s.CoursewareSerializer(session.courseware.all(), many=True).data)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk=None):
        """The class's attendance as .xlsx (default) or .csv (`?fmt=csv`)."""
        session = self.get_object()
        if not org_selectors.scope_for(request.user).covers(session.host_unit):
            raise PermissionDenied
        fmt = request.query_params.get("fmt", "xlsx")
        return exports.export_response(
            selectors.export_attendance(request.user, session=session), fmt=fmt,
            filename=f"attendance-{session.pk}",
        )


class CheckinByCodeView(APIView):
    """Check in with only the 6-digit code: the class is found among the caller's classes."""

    @extend_schema(request=s.CodeInput, responses={201: dict})
    def post(self, request: Request) -> Response:
        data = _input(s.CodeInput, request)
        row = services.checkin_by_code_any(person=request.user, code=data["code"])
        return Response(
            {"session": row.session_id, "status": row.status, "method": row.method, "checked_in_at": row.checked_in_at},
            status=status.HTTP_201_CREATED,
        )


class AttendanceExportView(APIView):
    """Attendance of a unit subtree over a date range, as .xlsx or .csv (local times)."""

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request):
        params = request.query_params
        scope = org_selectors.scope_for(request.user)
        if scope.view == ():
            raise PermissionDenied
        unit = None
        if params.get("unit"):
            unit = get_object_or_404(OrgUnit.objects.within(scope.view), pk=_int_param(request, "unit", 0))
        date_from = _date_param(request, "from")
        date_to = _date_param(request, "to")
        if date_from and date_to and date_to < date_from:
            raise ValidationError({"to": [_("The end date is before the start date.")]})
        rows = selectors.export_attendance(request.user, unit=unit, date_from=date_from, date_to=date_to)
        return exports.export_response(rows, fmt=params.get("fmt", "xlsx"), filename="attendance")


def _date_param(request: Request, name: str) -> dt.date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: [_("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": raw}]}) from None


class CalendarFeedView(APIView):
    """The caller's iCalendar subscription address; POST makes a new one (the old stops)."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        feed = services.calendar_feed_for(person=request.user)
        return Response({"url": request.build_absolute_uri(f"/lectures/calendar/{feed.token}.ics")})

    @extend_schema(request=None, responses={200: dict})
    def post(self, request: Request) -> Response:
        feed = services.calendar_feed_reset(person=request.user)
        return Response({"url": request.build_absolute_uri(f"/lectures/calendar/{feed.token}.ics")})

