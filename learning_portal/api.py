"""Project-wide API plumbing: the JSON error shape and strict input serializers.

Every API error is JSON with a `detail` a person can act on; field errors keep DRF's
`{field: [messages]}` shape next to it. Nothing here knows about any domain app.
"""

from typing import Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    ValidationError,
)
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        return Response(
            {"detail": _("The request body is too large.")},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, ValidationError):
        # Services raise Django's ValidationError; show it like a serializer error.
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(response.data, dict) and isinstance(response.data.get("detail"), list):
        response.data["detail"] = " ".join(str(m) for m in response.data["detail"])
    elif isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": _("The request has invalid fields."), **response.data}
    elif isinstance(response.data, list):
        response.data = {"detail": " ".join(str(m) for m in response.data)}
    return response


class StrictInputSerializer(serializers.Serializer):
    """Input serializer that refuses fields it does not know, naming them."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Expected a JSON object.")]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: [_("Unknown field.")] for name in unknown}
            )
        return super().to_internal_value(data)


class ErrorSerializer(serializers.Serializer):
    """The JSON shape of every API error, for the schema (`exception_handler` produces it).

    Field errors add `{field: [messages]}` next to `detail`. Apps document their error
    responses with this one class, so the schema has a single "Error" component.
    """

    detail = serializers.CharField(help_text=_("What went wrong, in words a person can act on."))
