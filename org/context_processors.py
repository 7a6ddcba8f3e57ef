"""What every page's chrome needs: the user's roles (for the menu) and unread notices."""

from django.conf import settings
from django.http import HttpRequest

from org import selectors


def portal(request: HttpRequest) -> dict:
    cooloff_minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"cooloff_minutes": cooloff_minutes}
    scope = selectors.scope_for(user)
    return {
        "cooloff_minutes": cooloff_minutes,
        "portal_scope": scope,
        "portal_is_admin": scope.manage is None or bool(scope.manage),
        "portal_can_view_org": scope.view is None or bool(scope.view),
        "portal_unread_count": selectors.unread_notification_count(user),
    }
