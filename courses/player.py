"""The player's heartbeat token: who may send heartbeats for which lesson.

When the player opens a lesson (an authenticated `start`), it receives a token signed
with the site's secret that names the person and the lesson. Heartbeats carry it in the
`X-Heartbeat-Token` header and are sent without cookies, so a heartbeat needs no session
read, no session write and no user query: the two queries of `lesson_heartbeat` are the
whole database cost of the request. A token only ever lets its bearer move the progress
of one lesson of one person, within the honest-time rules, and it expires.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

SALT = "courses.heartbeat"


def heartbeat_token(*, person_id: int, lesson_id: int) -> str:
    return signing.dumps([person_id, lesson_id], salt=SALT, compress=False)


def heartbeat_token_read(token: str, *, lesson_id: int) -> int:
    """The person id the token was issued to, for this lesson; PermissionDenied otherwise."""
    try:
        person_id, token_lesson = signing.loads(
            token, salt=SALT, max_age=settings.COURSES_HEARTBEAT_TOKEN_SECONDS
        )
    except signing.SignatureExpired as exc:
        raise PermissionDenied(_("The player's session expired: reload the lesson page.")) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise PermissionDenied(_("Invalid heartbeat token: reload the lesson page.")) from exc
    if token_lesson != lesson_id or not isinstance(person_id, int):
        raise PermissionDenied(_("This heartbeat token is for another lesson: reload the lesson page."))
    return person_id
