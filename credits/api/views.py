"""The credits API: your credits and ledger, rankings, unit compliance, adjustments, rules.

Reads call `credits.selectors` (scoped; out-of-scope objects are 404 and never listed);
commands validate the input shape and call one `credits.services` function. Ledger
entries are read-only here: PUT, PATCH and DELETE answer 405, and the only ways to write
are an adjustment or a reversal, which are new entries.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from credits import selectors, services
from credits.api import serializers as s
from credits.models import (
    AwardRule,
    CreditEntry,
    RankingPolicy,
    Requirement,
    SourceKind,
    SourceRule,
)
from credits.periods import Period, current_periods, parse_period
from learning_portal.api import ErrorSerializer
from org import selectors as org_selectors
from org.models import CadreLevel, OrgUnit

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description=gettext_lazy("Invalid input; fields are named.")),
    403: OpenApiResponse(ErrorSerializer, description=gettext_lazy("Not allowed.")),
    404: OpenApiResponse(ErrorSerializer, description=gettext_lazy("Not found or outside your scope.")),
}

PERIOD_PARAM = OpenApiParameter(
    "period", OpenApiTypes.STR, description=gettext_lazy("2025, 2025-Q3 or 2025-07; default: this year.")
)
UNIT_PARAM = OpenApiParameter(
    "unit", OpenApiTypes.INT,
    description=gettext_lazy("Rank this unit's subtree; default: your whole organisation."),
)
PAGE_PARAMS = [
    OpenApiParameter("page", OpenApiTypes.INT, description=gettext_lazy("Page number, from 1.")),
    OpenApiParameter("page_size", OpenApiTypes.INT, description=gettext_lazy("Rows per page, 1–100 (default 50).")),
]


def _int_param(request: Request, name: str, *, default: int | None = None, low: int = 1, high: int = 10**9) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationError({name: [_("“%(value)s” is not a whole number.") % {"value": raw[:20]}]}) from None
    if not low <= value <= high:
        raise ValidationError({name: [_("Use a number from %(low)s to %(high)s.") % {"low": low, "high": high}]})
    return value


def _period_param(request: Request, *, default: Period | None = None) -> Period:
    try:
        return parse_period(request.query_params.get("period"), default=default or current_periods()[0])
    except ValueError as exc:
        raise ValidationError({"period": [str(exc)]}) from None


def _year_param(request: Request) -> int:
    year = _int_param(request, "year", default=current_periods()[0].year, low=2000, high=current_periods()[0].year)
    return int(year)


class IsSystemAdmin(permissions.BasePermission):
    message = gettext_lazy("Only a system administrator may do this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_superuser)


class IsSystemAdminOrReadOnly(permissions.BasePermission):
    message = gettext_lazy("Only a system administrator may change the credit rules.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or bool(request.user.is_superuser)


# --- My credits --------------------------------------------------------------------------------


class MyCreditsView(APIView):
    @extend_schema(
        summary=gettext_lazy("My credits in a year"),
        description=gettext_lazy(
            "Credits that count this year against your cadre level's requirement, by source, "
            "with the pro-rata target and your rank (unless rankings are off)."
        ),
        parameters=[OpenApiParameter("year", OpenApiTypes.INT, description=gettext_lazy("Default: this year."))],
        responses={200: s.YearSummarySerializer, 400: ERRORS[400]},
        tags=["credits"],
    )
    def get(self, request: Request) -> Response:
        year = _year_param(request)
        summary = selectors.person_year_summary(request.user, year)
        data = s.YearSummarySerializer(summary).data
        if request.user.unit_id:
            policy = selectors.ranking_policy_for(selectors.root_of(request.user.unit).pk)
            if policy.visibility == "off":
                data["rank"] = None
        return Response(data)


# --- Ledger ----------------------------------------------------------------------------------------


@extend_schema(tags=["credits"])
@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("Ledger entries"),
        description=gettext_lazy(
            "Your ledger, newest first; `person` shows the ledger of someone in your scope."
        ),
        parameters=[
            OpenApiParameter("person", OpenApiTypes.INT, description=gettext_lazy("Id of a person in your scope.")),
            OpenApiParameter("source_kind", OpenApiTypes.STR, enum=SourceKind.values),
            OpenApiParameter("year", OpenApiTypes.INT),
        ],
        responses={200: s.EntryOutputSerializer(many=True), 400: ERRORS[400], 404: ERRORS[404]},
    ),
    retrieve=extend_schema(
        summary=gettext_lazy("One ledger entry"), responses={200: s.EntryOutputSerializer, 404: ERRORS[404]}
    ),
)
class EntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Read-only: entries are never changed or deleted (405); corrections are reversals."""

    serializer_class = s.EntryOutputSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[CreditEntry]:
        if getattr(self, "swagger_fake_view", False):
            return CreditEntry.objects.none()
        user = self.request.user
        if self.action in ("retrieve", "reverse"):
            return selectors.entries_visible_to(user)
        person_id = _int_param(self.request, "person")
        person = user
        if person_id is not None and person_id != user.pk:
            person = get_object_or_404(org_selectors.people_in_scope(user), pk=person_id)
        entries = selectors.ledger_for(user, person).select_related("person")
        kind = self.request.query_params.get("source_kind")
        if kind:
            if kind not in SourceKind.values:
                raise ValidationError({"source_kind": [_("Use one of %(kinds)s.") % {"kinds": ", ".join(SourceKind.values)}]})
            entries = entries.filter(source_kind=kind)
        year = _int_param(self.request, "year", low=2000, high=2100)
        if year is not None:
            p = Period("Y", year)
            entries = entries.filter(occurred_at__gte=p.start, occurred_at__lt=p.end)
        return entries

    @extend_schema(
        summary=gettext_lazy("Reverse an entry (unit admins)"),
        description=gettext_lazy(
            "Records a new entry cancelling this one, with a mandatory reason. An entry is "
            "reversed at most once; a reversal cannot be reversed."
        ),
        request=s.ReverseInputSerializer,
        responses={201: s.EntryOutputSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, pk: str | None = None) -> Response:
        entry = self.get_object()
        serializer = s.ReverseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reversal = services.credit_reverse(entry=entry, actor=request.user, reason=serializer.validated_data["reason"])
        reversal = selectors.entries_visible_to(request.user).get(pk=reversal.pk)
        return Response(self.get_serializer(reversal).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["credits"])
@extend_schema_view(
    list=extend_schema(
        summary=gettext_lazy("Adjustments in your units"),
        description=gettext_lazy("Manual adjustments of people in units you administer, newest first."),
    ),
    create=extend_schema(
        summary=gettext_lazy("Adjust a person's credits (unit admins)"),
        description=gettext_lazy(
            "Adds a ledger entry of positive or negative points with a mandatory reason, for an "
            "active person in a unit you administer. Send an `Idempotency-Key` header to make "
            "retries safe."
        ),
        parameters=[OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, location=OpenApiParameter.HEADER)],
        request=s.AdjustmentInputSerializer,
        responses={201: s.EntryOutputSerializer, **ERRORS},
    ),
)
class AdjustmentViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = s.EntryOutputSerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[CreditEntry]:
        if getattr(self, "swagger_fake_view", False):
            return CreditEntry.objects.none()
        return selectors.adjustments_visible_to(self.request.user)

    def create(self, request: Request) -> Response:
        serializer = s.AdjustmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        person = selectors.person_for_adjustment(request.user, person_id=data["person"])
        entry = services.credit_adjust(
            person=person,
            points=data["points"],
            reason=data["reason"],
            actor=request.user,
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
        entry = selectors.entries_visible_to(request.user).get(pk=entry.pk)
        return Response(self.get_serializer(entry).data, status=status.HTTP_201_CREATED)


# --- Rankings ----------------------------------------------------------------------------------------


def _scope_param(request: Request) -> OrgUnit:
    unit_id = _int_param(request, "unit")
    return selectors.ranking_scope(request.user, unit_id)


def _ranking_response(fn, request: Request, **kwargs: Any) -> Response:
    period = _period_param(request)
    scope = _scope_param(request)
    page = _int_param(request, "page", default=1)
    page_size = _int_param(request, "page_size", default=50, high=100)
    try:
        result = fn(request.user, period=period, scope=scope, page=page, page_size=page_size, **kwargs)
    except ValueError as exc:
        field = "by" if "average" in str(exc) or "annual" in str(exc) else "page"
        raise ValidationError({field: [str(exc)]}) from None
    return Response(s.RankingOutputSerializer(result).data)


class PeopleRankingView(APIView):
    @extend_schema(
        summary=gettext_lazy("People ranking"),
        description=gettext_lazy(
            "People of a unit subtree ranked by credits in a period (ties share a rank), as "
            "your organisation's ranking visibility allows: full list, top N plus your own "
            "rank, your own rank only, or off; names may be masked."
        ),
        parameters=[PERIOD_PARAM, UNIT_PARAM, *PAGE_PARAMS],
        responses={200: s.RankingOutputSerializer, 400: ERRORS[400], 404: ERRORS[404]},
        tags=["credits"],
    )
    def get(self, request: Request) -> Response:
        return _ranking_response(selectors.people_ranking, request)


class UnitsRankingView(APIView):
    @extend_schema(
        summary=gettext_lazy("Units ranking"),
        description=gettext_lazy(
            "Units of a subtree ranked by average credits per active member, or (for a year) "
            "by compliance rate: the share of members on track for the pro-rata requirement."
        ),
        parameters=[
            PERIOD_PARAM, UNIT_PARAM,
            OpenApiParameter("by", OpenApiTypes.STR, enum=list(selectors.UNIT_METRICS)),
            *PAGE_PARAMS,
        ],
        responses={200: s.RankingOutputSerializer, 400: ERRORS[400], 404: ERRORS[404]},
        tags=["credits"],
    )
    def get(self, request: Request) -> Response:
        by = request.query_params.get("by") or "average"
        if by not in selectors.UNIT_METRICS:
            raise ValidationError({"by": [_("Rank units by “average” or “compliance”.")]})
        return _ranking_response(selectors.units_ranking, request, by=by)


# --- Compliance ----------------------------------------------------------------------------------------


class CompliancePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ComplianceView(APIView):
    @extend_schema(
        summary=gettext_lazy("Unit compliance (admins and managers)"),
        description=gettext_lazy(
            "Units in your scope behind the pro-rata annual requirement, least compliant first, "
            "with the number of members behind — for the semi-annual briefing (情况通报)."
        ),
        parameters=[
            OpenApiParameter("year", OpenApiTypes.INT),
            OpenApiParameter("unit", OpenApiTypes.INT, description=gettext_lazy("Only this unit's subtree.")),
            OpenApiParameter("behind", OpenApiTypes.BOOL, description=gettext_lazy("false: every unit (default true).")),
            *PAGE_PARAMS,
        ],
        responses={200: s.ComplianceRowSerializer(many=True), **ERRORS},
        tags=["credits"],
    )
    def get(self, request: Request) -> Response:
        year = _year_param(request)
        unit_id = _int_param(request, "unit")
        unit = None
        if unit_id is not None:
            unit = OrgUnit.objects.filter(pk=unit_id).first()
            if unit is None:
                raise Http404
        behind = request.query_params.get("behind", "true").lower()
        if behind not in ("true", "false", "1", "0"):
            raise ValidationError({"behind": [_("Use true or false.")]})
        rows = selectors.compliance_units(
            request.user, year=year, unit=unit, behind_only=behind in ("true", "1")
        )
        paginator = CompliancePagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        names = org_selectors.unit_full_names(OrgUnit.objects.filter(pk__in=[ut.unit_id for ut in page]))
        data = s.ComplianceRowSerializer([selectors.compliance_row(ut, names) for ut in page], many=True).data
        return paginator.get_paginated_response(data)


# --- Rules (system admins write; everyone reads) ----------------------------------------------------------


class PolicyView(APIView):
    permission_classes = [permissions.IsAuthenticated, IsSystemAdminOrReadOnly]

    @extend_schema(
        summary=gettext_lazy("Credit policy"),
        description=gettext_lazy("Points per cause and what points are called (学分 / 学时)."),
        responses={200: s.PolicySerializer},
        tags=["credit rules"],
    )
    def get(self, request: Request) -> Response:
        return Response(s.PolicySerializer(selectors.credit_policy()).data)

    @extend_schema(
        summary=gettext_lazy("Change the credit policy (system admins)"),
        request=s.PolicyInputSerializer,
        responses={200: s.PolicySerializer, 400: ERRORS[400], 403: ERRORS[403]},
        tags=["credit rules"],
    )
    def patch(self, request: Request) -> Response:
        serializer = s.PolicyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.credit_policy_update(actor=request.user, **serializer.validated_data)
        return Response(s.PolicySerializer(policy).data)


class _RuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                   mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Rules are created or replaced by POST (keyed by their natural key) and removed by DELETE."""

    permission_classes = [permissions.IsAuthenticated, IsSystemAdminOrReadOnly]
    filter_backends: list = []
    input_serializer: type

    def create(self, request: Request) -> Response:
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.save(request, serializer.validated_data)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        self.remove(request, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


def _rule_schema(names: tuple[str, str, str, str], out, inp):
    """Schema of a rule viewset; `names` are the list / one / set / remove summaries."""
    listed, one, put, removed = names
    return extend_schema_view(
        list=extend_schema(summary=listed),
        retrieve=extend_schema(summary=one, responses={200: out, 404: ERRORS[404]}),
        create=extend_schema(
            summary=put, request=inp, responses={201: out, 400: ERRORS[400], 403: ERRORS[403]},
        ),
        destroy=extend_schema(
            summary=removed, responses={204: None, 403: ERRORS[403], 404: ERRORS[404]}
        ),
    )


@extend_schema(tags=["credit rules"])
@_rule_schema(
    (
        gettext_lazy("Source rules"),
        gettext_lazy("One source rule"),
        gettext_lazy("Set a source rule (system admins)"),
        gettext_lazy("Remove a source rule (system admins)"),
    ),
    s.SourceRuleSerializer, s.SourceRuleInputSerializer)
class SourceRuleViewSet(_RuleViewSet):
    """How each source counts (required/elective) and its annual cap, from a year on."""

    queryset = SourceRule.objects.all()
    serializer_class = s.SourceRuleSerializer
    input_serializer = s.SourceRuleInputSerializer

    def save(self, request: Request, data: dict) -> SourceRule:
        return services.source_rule_save(actor=request.user, **data)

    def remove(self, request: Request, obj: SourceRule) -> None:
        services.source_rule_delete(actor=request.user, rule=obj)


@extend_schema(tags=["credit rules"])
@_rule_schema(
    (
        gettext_lazy("Award rules"),
        gettext_lazy("One award rule"),
        gettext_lazy("Set an award rule (system admins)"),
        gettext_lazy("Remove an award rule (system admins)"),
    ),
    s.AwardRuleSerializer, s.AwardRuleInputSerializer)
class AwardRuleViewSet(_RuleViewSet):
    """Points per award type."""

    queryset = AwardRule.objects.all()
    serializer_class = s.AwardRuleSerializer
    input_serializer = s.AwardRuleInputSerializer

    def save(self, request: Request, data: dict) -> AwardRule:
        return services.award_rule_save(actor=request.user, **data)

    def remove(self, request: Request, obj: AwardRule) -> None:
        services.award_rule_delete(actor=request.user, rule=obj)


@extend_schema(tags=["credit rules"])
@_rule_schema(
    (
        gettext_lazy("Annual requirements"),
        gettext_lazy("One annual requirement"),
        gettext_lazy("Set an annual requirement (system admins)"),
        gettext_lazy("Remove an annual requirement (system admins)"),
    ),
    s.RequirementSerializer, s.RequirementInputSerializer)
class RequirementViewSet(_RuleViewSet):
    """Annual requirements per cadre level, from a year on."""

    queryset = Requirement.objects.select_related("cadre_level")
    serializer_class = s.RequirementSerializer
    input_serializer = s.RequirementInputSerializer

    def save(self, request: Request, data: dict) -> Requirement:
        level_id = data.pop("cadre_level")
        level = None
        if level_id is not None:
            level = CadreLevel.objects.filter(pk=level_id).first()
            if level is None:
                raise ValidationError({"cadre_level": [_("No cadre level has id %(id)s.") % {"id": level_id}]})
        return services.requirement_save(actor=request.user, cadre_level=level, **data)

    def remove(self, request: Request, obj: Requirement) -> None:
        services.requirement_delete(actor=request.user, requirement=obj)


@extend_schema(tags=["credit rules"])
@_rule_schema(
    (
        gettext_lazy("Ranking visibility per organisation"),
        gettext_lazy("One ranking policy"),
        gettext_lazy("Set an organisation's ranking visibility (system admins)"),
        gettext_lazy("Remove an organisation's ranking policy (back to the default)"),
    ),
    s.RankingPolicySerializer, s.RankingPolicyInputSerializer)
class RankingPolicyViewSet(_RuleViewSet):
    """Ranking visibility per organisation (system admins only)."""

    permission_classes = [permissions.IsAuthenticated, IsSystemAdmin]
    queryset = RankingPolicy.objects.select_related("root").order_by("root__path")
    serializer_class = s.RankingPolicySerializer
    input_serializer = s.RankingPolicyInputSerializer

    def save(self, request: Request, data: dict) -> RankingPolicy:
        root = OrgUnit.objects.filter(pk=data.pop("root")).first()
        if root is None:
            raise ValidationError({"root": [_("No such organisation.")]})
        return services.ranking_policy_save(actor=request.user, root=root, **data)

    def remove(self, request: Request, obj: RankingPolicy) -> None:
        services.ranking_policy_delete(actor=request.user, policy=obj)

