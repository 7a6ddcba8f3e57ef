from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LecturesConfig(AppConfig):
    """Afternoon micro-classes (下午微课堂).

    The package is `sessions/` but the label is `lectures`: `sessions` belongs to
    `django.contrib.sessions`, which the portal still uses for logins.
    """

    name = "sessions"
    label = "lectures"
    verbose_name = _("Micro-classes")
