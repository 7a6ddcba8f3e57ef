"""Refuse to serve without the production secrets; report them in `check --deploy`.

Settings never invent a usable production secret: offline management commands get a
throwaway key, but the web application and the Celery worker and beat call
`require_production_secrets()` before they start, so a missing SECRET_KEY fails loudly
where it matters instead of signing sessions with a random per-process key.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

MISSING_SECRET = "SECRET_KEY must be set when DEBUG is off (see .env.example)."


def require_production_secrets() -> None:
    if not settings.DEBUG and not settings.SECRET_KEY_CONFIGURED:
        raise ImproperlyConfigured(MISSING_SECRET)


@register(Tags.security, deploy=True)
def check_secret_key(app_configs, **kwargs):
    if not settings.DEBUG and not settings.SECRET_KEY_CONFIGURED:
        return [Error(MISSING_SECRET, id="learning_portal.E001")]
    return []
