"""The courses panel on the home page (settings.HOME_PANELS).

Shows how many people are studying right now (from the cache presence set, no database
write), the course to resume, required courses with deadlines, and pushed courses
(重点课程推送) meant for the person. A handful of indexed queries, none per row.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string

from courses import selectors


def home_panel(request: HttpRequest) -> str | None:
    user = request.user
    if not user.is_authenticated:
        return None
    mine = selectors.my_courses(user, completed_limit=0)
    open_required = [r for r in mine.required if not r["done"]][:4]
    context = {
        "studying_now": selectors.studying_now(),
        "resume": selectors.continue_learning(user),
        "required": open_required,
        "pushes": list(selectors.pushes_for(user)[:4]),
        "recommendations": mine.recommendations[:3],
    }
    return render_to_string("courses/home_panel.html", context, request=request)
