"""The player's heartbeat endpoint: token-authenticated, cookie-less, two queries.

The player posts `{"position": seconds, "client_time": ISO 8601}` with the token it got
from `start` in `X-Heartbeat-Token` (see courses.player). Answers are JSON: 200 with the
progress, 400 with `{field: [message]}` and `detail`, 403 for a bad or expired token.
The API's session/token-authenticated heartbeat calls the same service.
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from courses import counters, player, services


def _error(status: int, message: str, fields: dict | None = None) -> JsonResponse:
    return JsonResponse({"detail": message, **(fields or {})}, status=status)


def _parse(body: bytes) -> tuple[float, dt.datetime | None]:
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError({"detail": [_("Send a JSON object.")]}) from exc
    if not isinstance(data, dict):
        raise ValidationError({"detail": [_("Send a JSON object.")]})
    unknown = sorted(set(data) - {"position", "client_time"})
    if unknown:
        raise ValidationError({name: [_("Unknown field.")] for name in unknown})
    if "position" not in data:
        raise ValidationError({"position": [_("The position is a number of seconds, 0 or more.")]})
    client_time = None
    if data.get("client_time") is not None:
        raw = data["client_time"]
        client_time = parse_datetime(raw) if isinstance(raw, str) else None
        if client_time is None:
            raise ValidationError({"client_time": [_("The client time is an ISO 8601 date and time with a time zone.")]})
    return data["position"], client_time


@csrf_exempt  # no cookies are used: the signed token in the header is the credential
@require_POST
def heartbeat(request: HttpRequest, lesson_pk: int) -> JsonResponse:
    try:
        person_id = player.heartbeat_token_read(request.headers.get("X-Heartbeat-Token", ""), lesson_id=lesson_pk)
        position, client_time = _parse(request.body)
        result = services.lesson_heartbeat(
            person_id=person_id, lesson_id=lesson_pk, position=position, client_time=client_time
        )
    except PermissionDenied as denied:
        return _error(403, str(denied))
    except ValidationError as error:
        fields = error.message_dict if hasattr(error, "error_dict") else {}
        return _error(400, " ".join(error.messages), fields)
    counters.track(person_id=person_id)
    return JsonResponse(
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
