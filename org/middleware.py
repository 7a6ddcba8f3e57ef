"""Session upkeep, and the rule that someone holding a temporary password changes it first."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

_ALLOWED_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/healthz")

# Unix time at which the session was last saved by this middleware (or with a change).
REFRESHED_KEY = "_refreshed_at"


def mark_session_refreshed(sender, request: HttpRequest, user, **kwargs) -> None:
    """At login (a `user_logged_in` receiver): the session is about to be saved anyway."""
    session = getattr(request, "session", None)
    if session is not None:
        session[REFRESHED_KEY] = int(time.time())


class IdleSessionMiddleware:
    """Push a logged-in session's expiry forward at most once per SESSION_REFRESH_SECONDS.

    Saving the session on every request (SESSION_SAVE_EVERY_REQUEST) would make every page
    view a database write. Instead a signed-in session remembers when it was last saved;
    a request that finds that older than the refresh interval marks it modified, and the
    session middleware (outside this one) saves it with a fresh expiry. A session saved
    for another reason (login, a message) records the time for free. Anonymous and
    untouched sessions are left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or not session.accessed or SESSION_KEY not in session:
            return response
        now = int(time.time())
        if session.modified or now - session.get(REFRESHED_KEY, 0) >= settings.SESSION_REFRESH_SECONDS:
            session[REFRESHED_KEY] = now
        return response


class MustChangePasswordMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and user.must_change_password
            and not request.path.startswith(_ALLOWED_PREFIXES)
        ):
            message = _("You are using a temporary password. Please choose your own password first.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=403)
            messages.warning(request, message)
            return redirect(reverse("password_change"))
        return self.get_response(request)
