"""Panels on the home page, contributed by apps without `org` importing them.

`settings.HOME_PANELS` lists dotted paths of callables `panel(request) -> str | None`
that return rendered HTML (or None to show nothing). The home view renders them in
order, so a higher app can add to the page without a lower app knowing it exists.
"""

from django.conf import settings
from django.http import HttpRequest
from django.utils.module_loading import import_string
from django.utils.safestring import SafeString, mark_safe


def render_panels(request: HttpRequest) -> list[SafeString]:
    panels = []
    for dotted in getattr(settings, "HOME_PANELS", []):
        html = import_string(dotted)(request)
        if html:
            panels.append(mark_safe(html))  # noqa: S308 - rendered by a template
    return panels
