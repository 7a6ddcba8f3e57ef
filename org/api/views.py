"""The org API: the caller, units and people in scope, cadre levels, inbox and feedback.

Read viewsets list and show what `org.selectors` says the caller may see; anything else
is 404, never a leak in a list. Commands (mark read, send feedback, reply) are explicit
endpoints that validate the input shape and call one service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from learning_portal.api import ErrorSerializer
from org import selectors, services
from org.api import filters
from org.api import serializers as s
from org.models import CadreLevel, Feedback, Notification, OrgUnit, RoleGrant, User

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description=_("Invalid input; fields are named.")),
    403: OpenApiResponse(ErrorSerializer, description=_("Not allowed.")),
    404: OpenApiResponse(ErrorSerializer, description=_("Not found or outside your scope.")),
}


def _attach_lineage(units: list[OrgUnit]) -> None:
    """Give each unit object a `lineage` (parent id, full name) from one query for the lot.

    Several objects may stand for the same unit (one per person of a page); each gets it.
    """
    lineages = selectors.unit_lineages(units)
    for unit in units:
        unit.lineage = lineages[unit.pk]


# --- Me -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Me:
    """What /me/ answers: the caller with their grants and how many notices await them."""

    person: User
    roles: list[RoleGrant]
    unread_notifications: int


class MeView(APIView):
    @extend_schema(
        summary=_("Who am I"),
        description=_("The caller: unit, cadre level, roles and unread notices."),
        responses={200: s.MeOutputSerializer, 403: ERRORS[403]},
        tags=["me"],
    )
    def get(self, request: Request) -> Response:
        person = User.objects.select_related("unit", "cadre_level").get(pk=request.user.pk)
        if person.unit is not None:
            _attach_lineage([person.unit])
        me = Me(
            person=person,
            roles=list(selectors.role_grants_of(person)),
            unread_notifications=selectors.unread_notification_count(person),
        )
        return Response(s.MeOutputSerializer(me, context={"request": request}).data)


# --- Units ----------------------------------------------------------------------------------


@extend_schema(tags=["org"])
@extend_schema_view(
    list=extend_schema(
        summary=_("Units in your scope"),
        description=_(
            "Units you may see, in tree order: your grants' subtrees, or only your own unit."
        ),
    ),
    retrieve=extend_schema(
        summary=_("One unit"), responses={200: s.OrgUnitOutputSerializer, 404: ERRORS[404]}
    ),
)
class OrgUnitViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.OrgUnitOutputSerializer
    filterset_class = filters.OrgUnitFilter
    search_fields = ["code", "name"]
    ordering_fields = ["path", "code", "name", "member_count"]
    ordering = ["path"]

    def get_queryset(self) -> QuerySet[OrgUnit]:
        if getattr(self, "swagger_fake_view", False):
            return OrgUnit.objects.none()
        return selectors.units_in_scope(self.request.user).annotate(
            member_count=Count("members", filter=Q(members__is_active=True))
        )

    def paginate_queryset(self, queryset: QuerySet[OrgUnit]) -> list[OrgUnit] | None:
        page = super().paginate_queryset(queryset)
        if page is not None:
            _attach_lineage(page)
        return page

    def get_object(self) -> OrgUnit:
        unit = super().get_object()
        _attach_lineage([unit])
        return unit


# --- People ---------------------------------------------------------------------------------


@extend_schema(tags=["org"])
@extend_schema_view(
    list=extend_schema(
        summary=_("People in your scope"),
        description=_(
            "People you may see. `search` matches name or employee number. Phone, e-mail and "
            "birth date are null unless it is you or you are an admin/manager of their unit."
        ),
    ),
    retrieve=extend_schema(
        summary=_("One person"), responses={200: s.PersonOutputSerializer, 404: ERRORS[404]}
    ),
)
class PersonViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.PersonOutputSerializer
    filterset_class = filters.PersonFilter
    search_fields = ["name", "employee_no"]
    ordering_fields = ["employee_no", "name", "unit__path"]
    ordering = ["unit__path", "employee_no"]

    def get_queryset(self) -> QuerySet[User]:
        if getattr(self, "swagger_fake_view", False):
            return User.objects.none()
        return selectors.people_in_scope(self.request.user).select_related("unit", "cadre_level")

    def paginate_queryset(self, queryset: QuerySet[User]) -> list[User] | None:
        page = super().paginate_queryset(queryset)
        if page is not None:
            _attach_lineage([person.unit for person in page if person.unit_id])
        return page

    def get_object(self) -> User:
        person = super().get_object()
        if person.unit is not None:
            _attach_lineage([person.unit])
        return person


# --- Cadre levels ----------------------------------------------------------------------------


class IsSystemAdminOrReadOnly(permissions.BasePermission):
    """Anyone logged in reads; only a system administrator writes."""

    message = _("Only a system administrator may change cadre levels.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user.is_superuser)


@extend_schema(tags=["org"])
@extend_schema_view(
    list=extend_schema(summary=_("Cadre levels")),
    retrieve=extend_schema(
        summary=_("One cadre level"),
        responses={200: s.CadreLevelOutputSerializer, 404: ERRORS[404]},
    ),
    create=extend_schema(
        summary=_("Add a cadre level (system admins)"),
        request=s.CadreLevelInputSerializer,
        responses={201: s.CadreLevelOutputSerializer, **{k: ERRORS[k] for k in (400, 403)}},
    ),
    update=extend_schema(
        summary=_("Change a cadre level (system admins)"),
        request=s.CadreLevelInputSerializer,
        responses={200: s.CadreLevelOutputSerializer, **ERRORS},
    ),
    partial_update=extend_schema(
        summary=_("Change some fields of a cadre level (system admins)"),
        request=s.CadreLevelInputSerializer,
        responses={200: s.CadreLevelOutputSerializer, **ERRORS},
    ),
)
class CadreLevelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = CadreLevel.objects.all()
    serializer_class = s.CadreLevelOutputSerializer
    permission_classes = [permissions.IsAuthenticated, IsSystemAdminOrReadOnly]
    search_fields = ["code", "name"]
    ordering_fields = ["sort_order", "code", "name"]
    ordering = ["sort_order", "code"]

    def create(self, request: Request) -> Response:
        data = self._input(request)
        level = services.cadre_level_save(actor=request.user, **data)
        return Response(self.get_serializer(level).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str | None = None) -> Response:
        level = self.get_object()
        data = self._input(request)
        level = services.cadre_level_save(level=level, actor=request.user, **data)
        return Response(self.get_serializer(level).data)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        level = self.get_object()
        data = {
            "code": level.code,
            "name": level.name,
            "sort_order": level.sort_order,
            **self._input(request, partial=True),
        }
        level = services.cadre_level_save(level=level, actor=request.user, **data)
        return Response(self.get_serializer(level).data)

    def _input(self, request: Request, *, partial: bool = False) -> dict[str, Any]:
        serializer = s.CadreLevelInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


# --- Notifications -----------------------------------------------------------------------------


@extend_schema(tags=["notifications"])
@extend_schema_view(
    list=extend_schema(summary=_("Your inbox"), description=_("Your notices, newest first.")),
    retrieve=extend_schema(
        summary=_("One of your notices"),
        responses={200: s.NotificationOutputSerializer, 404: ERRORS[404]},
    ),
)
class NotificationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.NotificationOutputSerializer
    filterset_class = filters.NotificationFilter
    search_fields = ["title", "body"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return selectors.notifications_for(self.request.user)

    @extend_schema(
        summary=_("Mark notices read"),
        description=_('{"ids": [1, 2]} marks those of your notices read; {} marks all of them.'),
        request=s.NotificationReadInputSerializer,
        responses={200: s.NotificationReadOutputSerializer, 400: ERRORS[400]},
    )
    @action(detail=False, methods=["post"])
    def read(self, request: Request) -> Response:
        serializer = s.NotificationReadInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = services.notifications_mark_read(
            user=request.user, ids=serializer.validated_data.get("ids")
        )
        payload = {
            "marked": marked,
            "unread_notifications": selectors.unread_notification_count(request.user),
        }
        return Response(s.NotificationReadOutputSerializer(payload).data)


# --- Feedback (意见建议) ------------------------------------------------------------------------


@extend_schema(tags=["feedback"])
@extend_schema_view(
    list=extend_schema(
        summary=_("Feedback you may see"),
        description=_("What you sent, plus what was sent from units you administer."),
    ),
    retrieve=extend_schema(
        summary=_("One feedback message"),
        responses={200: s.FeedbackOutputSerializer, 404: ERRORS[404]},
    ),
    create=extend_schema(
        summary=_("Send feedback to your unit's admins"),
        request=s.FeedbackInputSerializer,
        responses={201: s.FeedbackOutputSerializer, 400: ERRORS[400]},
    ),
)
class FeedbackViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = s.FeedbackOutputSerializer
    filterset_class = filters.FeedbackFilter
    search_fields = ["subject", "body"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet[Feedback]:
        if getattr(self, "swagger_fake_view", False):
            return Feedback.objects.none()
        return selectors.feedback_visible_to(self.request.user)

    def create(self, request: Request) -> Response:
        serializer = s.FeedbackInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        feedback = services.feedback_submit(author=request.user, **serializer.validated_data)
        feedback = self.get_queryset().get(pk=feedback.pk)
        return Response(self.get_serializer(feedback).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary=_("Answer feedback (unit admins of the sender's unit)"),
        request=s.FeedbackReplyInputSerializer,
        responses={200: s.FeedbackOutputSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reply(self, request: Request, pk: str | None = None) -> Response:
        feedback = self.get_object()
        # Refuse before looking at the input; the service checks again under its lock.
        if not selectors.can_manage_unit(request.user, feedback.unit):
            raise PermissionDenied(_("Only an admin of the sender's unit may answer this."))
        serializer = s.FeedbackReplyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.feedback_reply(
            feedback=feedback, actor=request.user, reply=serializer.validated_data["reply"]
        )
        feedback = self.get_queryset().get(pk=feedback.pk)
        return Response(self.get_serializer(feedback).data)
