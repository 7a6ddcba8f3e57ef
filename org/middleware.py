"""Someone holding a temporary password must choose their own before anything else."""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

_ALLOWED_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/healthz")


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
