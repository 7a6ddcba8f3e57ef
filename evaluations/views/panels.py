"""The evaluations panel of the home page (settings.HOME_PANELS): classes to rate, exams
open now, and the person's latest honours."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string

from evaluations import selectors


def home_panel(request: HttpRequest) -> str | None:
    user = request.user
    if not user.is_authenticated:
        return None
    pending = selectors.pending_surveys_for(user)[:5]
    exams = list(selectors.exams_open_to(user)[:5])
    honours = list(selectors.awards_of(user)[:3])
    if not (pending or exams or honours):
        return None
    return render_to_string(
        "evaluations/_home_panel.html",
        {"pending": pending, "exams": exams, "honours": honours},
        request=request,
    )
