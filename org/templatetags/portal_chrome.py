"""The page chrome every logged-in page renders, made cheap.

The main menu has some forty links and labels; rendering them costs more than many a
whole page's content. It depends only on the language, the URL prefix and a handful of
role flags, so each combination is rendered once per process and reused (outside DEBUG,
where templates may change under a running server).
"""

from __future__ import annotations

import threading

from django import template
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

REPORT_ROLES = frozenset({"manager", "unit_admin"})

_lock = threading.Lock()
_menus: dict[tuple, str] = {}


def menu_flags(context: template.Context) -> dict[str, bool]:
    """What the menu shows, from the user and the `org.context_processors.portal` values."""
    user = context.get("user")
    scope = context.get("portal_scope")
    is_superuser = bool(getattr(user, "is_superuser", False))
    roles = scope.roles if scope is not None else frozenset()
    return {
        "portal_is_admin": bool(context.get("portal_is_admin")),
        "portal_can_view_org": bool(context.get("portal_can_view_org")),
        "is_superuser": is_superuser,
        "is_staff": bool(getattr(user, "is_staff", False)),
        "can_see_reports": is_superuser or bool(roles & REPORT_ROLES),
    }


@register.simple_tag(takes_context=True)
def portal_menu(context: template.Context) -> SafeString:
    flags = menu_flags(context)
    key = (get_language(), get_script_prefix(), *sorted(flags.items()))
    html = None if settings.DEBUG else _menus.get(key)
    if html is None:
        html = render_to_string("_nav_menu.html", flags)
        with _lock:
            _menus[key] = html
    return mark_safe(html)  # noqa: S308 - rendered from our own template, escaped there
