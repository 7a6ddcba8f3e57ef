"""The credits panel of the home page (registered in settings.HOME_PANELS)."""

from __future__ import annotations

from django.http import HttpRequest
from django.template.loader import render_to_string

from credits import selectors
from credits.models import RankingVisibility
from credits.periods import current_periods


def home_panel(request: HttpRequest) -> str | None:
    """Credits this year vs the requirement, own ranks, top learners and units, latest entries."""
    user = request.user
    if not user.is_authenticated:
        return None
    year = current_periods()[0]
    summary = selectors.person_year_summary(user, year.year)
    policy = selectors.ranking_policy_for(selectors.root_of(user.unit).pk) if user.unit_id else None
    rankings_off = policy is not None and policy.visibility == RankingVisibility.OFF
    context = {
        "summary": summary,
        "rankings_off": rankings_off,
        "top_people": None if rankings_off else selectors.top_people(user, period=year, limit=5),
        "top_units": None if rankings_off else selectors.top_units(user, period=year, limit=5),
        "latest": list(selectors.ledger_for(user, user)[:5]),
    }
    return render_to_string("credits/_home_panel.html", context, request=request)
