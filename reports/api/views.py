"""The reports API: ask for a report, poll it, download it, retry it; subscriptions; the
dashboard figures.

Runs are private to their requester: another person's run id answers 404, and every
download re-checks the requester's current scope. Creating a run that is already being
built (same kind, format and parameters) returns that run with 200 instead of 201.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from learning_portal.api import ErrorSerializer
from learning_portal.uploads import protected_file_response
from reports import selectors, services
from reports.api import serializers as s
from reports.models import ReportKind, ReportRun, ReportSubscription

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description=gettext_lazy("Invalid input; fields are named.")),
    403: OpenApiResponse(ErrorSerializer, description=gettext_lazy("Not allowed.")),
    404: OpenApiResponse(ErrorSerializer, description=gettext_lazy("Not found, not yours, or outside your scope.")),
}


class RunListCreateView(generics.ListCreateAPIView):
    """Your report runs, newest first; POST asks for a new one."""

    serializer_class = s.RunSerializer
    filterset_fields = ["kind", "status"]
    search_fields = []
    ordering_fields = ["created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ReportRun.objects.none()
        return selectors.runs_of(self.request.user)

    @extend_schema(
        request=s.RunCreateSerializer,
        responses={201: s.RunSerializer, 200: s.RunSerializer, **ERRORS},
        description="Queue a report. The same report already queued or running is returned (200).",
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        data = s.RunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        kind = values.pop("kind")
        run, created = services.report_request(requester=request.user, kind=kind, raw=values)
        return Response(s.RunSerializer(run).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema(responses={200: s.RunSerializer, **ERRORS})
class RunDetailView(generics.RetrieveAPIView):
    """One of your runs: poll it for `status` and `progress`."""

    serializer_class = s.RunSerializer

    def get_object(self) -> ReportRun:
        return selectors.run_of(self.request.user, self.kwargs["pk"])


class RunDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY, **ERRORS})
    def get(self, request: Request, pk: int):
        """The file of a finished run of yours, while it has not expired."""
        run = selectors.run_for_download(request.user, pk)
        return protected_file_response(run.file, download_name=run.file_name, as_attachment=True)


class RunRetryView(APIView):
    @extend_schema(request=None, responses={200: s.RunSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        """Queue a failed run of yours again."""
        run = services.report_retry(run=selectors.run_of(request.user, pk), actor=request.user)
        return Response(s.RunSerializer(run).data)


class SubscriptionListCreateView(generics.ListCreateAPIView):
    """Your quarterly report subscriptions; POST subscribes to a unit in your scope."""

    serializer_class = s.SubscriptionSerializer
    filterset_fields = []
    search_fields = []
    ordering_fields = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return ReportSubscription.objects.none()
        return selectors.subscriptions_of(self.request.user)

    @extend_schema(request=s.SubscriptionCreateSerializer, responses={201: s.SubscriptionSerializer, **ERRORS})
    def post(self, request: Request, *args, **kwargs) -> Response:
        data = s.SubscriptionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        unit = selectors.units_for_reports(request.user).filter(pk=data.validated_data["unit"]).first()
        sub = services.subscription_create(subscriber=request.user, unit=unit, fmt=data.validated_data["format"])
        return Response(s.SubscriptionSerializer(sub).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(APIView):
    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request: Request, pk: int) -> Response:
        """Cancel one of your subscriptions."""
        services.subscription_cancel(subscription=selectors.subscription_of(request.user, pk), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DashboardView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("unit", OpenApiTypes.INT, required=True),
            OpenApiParameter("year", OpenApiTypes.INT, required=True),
            OpenApiParameter("quarter", OpenApiTypes.INT, required=True, description="1–4"),
        ],
        responses={200: s.DashboardSerializer, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """The manager dashboard's figures: the same numbers as the quarterly report."""
        raw = {k: request.query_params.get(k) for k in ("unit", "year", "quarter")}
        req = services.clean_request(requester=request.user, kind=ReportKind.QUARTERLY, raw=raw)
        return Response(selectors.dashboard(request.user, req.unit, req.window))
